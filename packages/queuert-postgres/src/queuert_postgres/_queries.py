"""Every static statement of the state adapter, as templates resolved once per adapter.

Placeholders (see `SchemaNames.template_values`): `{job}`, `{job_blocker}`, `{status_t}`,
`{id_type}`. Three macros expand to column lists:

* `{cols:a}` is the job projection of alias `a`: ids, JSON and the status cast to text, so
  no driver codec is involved; `{cols:a:p_}` names every column `p_<column>` instead.
* `{names:a}` lists the already projected columns of `a` (`a.id, a.type_name, ...`).
* `{nulls}` is one `NULL` per job column, to pad `UNION ALL` branches that carry no job.

Parameters are always bound as text, numbers, booleans, timestamps or arrays of those, and
cast in SQL (`$1::text::{id_type}`), so the same text works on asyncpg, psycopg and
SQLAlchemy whatever codecs the application registered.

Design rules (see docs/guides/postgres.md, "How it works"):

* one round trip per call; batches go through `unnest` and data-modifying CTEs;
* acquisition walks the `job_acquisition_idx` index in `scheduled_at` order and stops at the
  first row it can lock (`FOR UPDATE SKIP LOCKED`), so its cost does not grow with the
  backlog; several type names are merged type by type instead of sorting every due job;
* where correctness needs a row lock taken *before* a read (unblocking, blockers,
  deduplication), the lock is its own statement, because under READ COMMITTED a statement
  cannot see rows committed while it waited.
"""

from __future__ import annotations

import re

from queuert.adapters import JOB_COLUMNS

__all__ = ("expand_macros",)

_CAST_TO_TEXT = {"id": "::text", "chain_id": "::text", "input": "::text", "output": "::text", "status": "::text"}
_CAST_TO_TEXT["last_attempt_error"] = "::text"

_MACRO = re.compile(r"\{(cols|names|nulls)(?::([A-Za-z_][A-Za-z0-9_]*))?(?::([A-Za-z_][A-Za-z0-9_]*))?\}")


def _projection(alias: str, prefix: str) -> str:
    return ", ".join(f"{alias}.{c}{_CAST_TO_TEXT.get(c, '')} AS {prefix}{c}" for c in JOB_COLUMNS)


def expand_macros(sql: str) -> str:
    """Expand `{cols:...}`, `{names:...}` and `{nulls}`; other placeholders are left for `SchemaNames.render`."""

    def replace(match: re.Match[str]) -> str:
        kind, alias, prefix = match.group(1), match.group(2), match.group(3) or ""
        if kind == "nulls":
            return ", ".join("NULL" for _ in JOB_COLUMNS)
        if alias is None:
            raise ValueError(f"macro {match.group(0)} needs an alias")
        if kind == "cols":
            return _projection(alias, prefix)
        return ", ".join(f"{alias}.{c}" for c in JOB_COLUMNS)

    return _MACRO.sub(replace, sql)


# --- single reads -------------------------------------------------------------------------

GET_JOB = "SELECT {cols:j} FROM {job} j WHERE j.id = $1::text::{id_type}"
GET_JOB_FOR_UPDATE = GET_JOB + " FOR UPDATE"

_GET_CHAIN = """
SELECT {cols:j}, {cols:lc:lc_}
FROM {job} j
LEFT JOIN LATERAL (
  SELECT * FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1 %s
) lc ON true
WHERE j.id = $1::text::{id_type} AND j.chain_id = j.id
"""
GET_CHAIN = _GET_CHAIN % ""
# The lock covers only the chain's newest job: the row a caller is about to extend or complete.
GET_CHAIN_FOR_UPDATE = _GET_CHAIN % "FOR UPDATE"

GET_JOB_BLOCKERS = """
SELECT {cols:j}, {cols:lc:lc_}
FROM {job_blocker} b
JOIN {job} j ON j.id = b.blocked_by_chain_id
LEFT JOIN LATERAL (
  SELECT * FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1
) lc ON true
WHERE b.job_id = $1::text::{id_type}
ORDER BY b."index"
"""

# The earliest pending job per type, merged. SKIP LOCKED passes over jobs other workers are
# processing in atomic mode (they still look pending to everyone else).
GET_NEXT_JOB_AVAILABLE_IN_MS = """
SELECT GREATEST(0, CEIL(EXTRACT(EPOCH FROM (s.next_at - now())) * 1000))::bigint AS available_in_ms
FROM (
  SELECT min(c.scheduled_at) AS next_at
  FROM unnest($1::text[]) AS t(type_name)
  CROSS JOIN LATERAL (
    SELECT j.scheduled_at FROM {job} j
    WHERE j.type_name = t.type_name AND j.status = 'pending'
    ORDER BY j.scheduled_at LIMIT 1
    FOR UPDATE SKIP LOCKED
  ) c
) s
WHERE s.next_at IS NOT NULL
"""

# --- creation -----------------------------------------------------------------------------

# Serializes concurrent starts with the same (chain type, deduplication key): run in the
# caller's transaction before CREATE_JOBS, so its lookup (a new statement, a new snapshot)
# sees a root committed by whoever held the lock first. Keys are sorted in Python so that
# two batches always lock in the same order.
LOCK_DEDUPLICATION_KEYS = "SELECT pg_advisory_xact_lock(k)::text AS locked FROM unnest($1::bigint[]) AS k"

_SCHEDULED_AT = (
    "GREATEST(COALESCE(n.schedule_at, now() + n.schedule_after_ms * interval '1 millisecond', now()), now())"
)

CREATE_JOBS = f"""
WITH input AS (
  SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
    $8::text[], $9::float8[], $10::text[], $11::timestamptz[], $12::float8[], $13::text[], $14::text[]
  ) WITH ORDINALITY AS u(
    new_id, type_name, chain_id, chain_type_name, chain_index, input, dedup_key,
    dedup_scope, dedup_window_ms, dedup_exclude, schedule_at, schedule_after_ms,
    chain_trace_context, trace_context, ord
  )
),
existing_continuation AS (
  SELECT DISTINCT ON (i.ord) i.ord, j.id
  FROM input i
  JOIN {{job}} j ON j.chain_id = i.chain_id::{{id_type}} AND j.chain_index = i.chain_index
  WHERE i.chain_id IS NOT NULL AND j.id <> j.chain_id
  ORDER BY i.ord
),
existing_dedup AS (
  SELECT DISTINCT ON (i.ord) i.ord, j.id
  FROM input i
  JOIN {{job}} j
    ON j.deduplication_key = i.dedup_key AND j.chain_index = 0 AND j.chain_type_name = i.chain_type_name
  WHERE i.dedup_key IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM existing_continuation c WHERE c.ord = i.ord)
    AND (
      i.dedup_scope = 'any'
      OR (SELECT x.status FROM {{job}} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1) <> 'completed'
    )
    AND (i.dedup_window_ms IS NULL OR j.created_at >= now() - i.dedup_window_ms * interval '1 millisecond')
    AND (
      i.dedup_exclude IS NULL
      OR j.id <> ALL (ARRAY(SELECT jsonb_array_elements_text(i.dedup_exclude::jsonb))::{{id_type}}[])
    )
  ORDER BY i.ord, j.created_at DESC
),
to_insert_all AS (
  SELECT i.* FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM existing_continuation c WHERE c.ord = i.ord)
    AND NOT EXISTS (SELECT 1 FROM existing_dedup d WHERE d.ord = i.ord)
),
first_of_key AS (
  SELECT a.ord, (
    SELECT min(b.ord) FROM to_insert_all b
    WHERE a.dedup_key IS NOT NULL AND b.dedup_key = a.dedup_key AND b.chain_type_name = a.chain_type_name
  ) AS first_ord
  FROM to_insert_all a
),
to_insert AS (
  SELECT a.* FROM to_insert_all a JOIN first_of_key f ON f.ord = a.ord
  WHERE f.first_ord IS NULL OR f.first_ord = a.ord
),
inserted_roots AS (
  INSERT INTO {{job}} AS t (
    id, type_name, chain_id, chain_type_name, chain_index, input, deduplication_key,
    scheduled_at, chain_trace_context, trace_context
  )
  SELECT n.new_id::{{id_type}}, n.type_name, n.new_id::{{id_type}}, n.chain_type_name, n.chain_index,
         n.input::jsonb, n.dedup_key, {_SCHEDULED_AT}, n.chain_trace_context, n.trace_context
  FROM to_insert n WHERE n.chain_id IS NULL ORDER BY n.ord
  RETURNING {{cols:t}}
),
inserted_continuations AS (
  -- A concurrent transaction inserting the same chain position makes this one wait on the
  -- unique index, then take the no-op update branch and return the row that won.
  INSERT INTO {{job}} AS t (
    id, type_name, chain_id, chain_type_name, chain_index, input, deduplication_key,
    scheduled_at, chain_trace_context, trace_context
  )
  SELECT n.new_id::{{id_type}}, n.type_name, n.chain_id::{{id_type}}, n.chain_type_name, n.chain_index,
         n.input::jsonb, n.dedup_key, {_SCHEDULED_AT}, n.chain_trace_context, n.trace_context
  FROM to_insert n WHERE n.chain_id IS NOT NULL ORDER BY n.ord
  ON CONFLICT (chain_id, chain_index) DO UPDATE SET id = t.id
  RETURNING {{cols:t}}, (t.xmax::text <> '0') AS conflicted
)
SELECT c.ord, true AS deduplicated, NULL::bigint AS same_as, {{cols:j}}
FROM existing_continuation c JOIN {{job}} j ON j.id = c.id
UNION ALL
SELECT d.ord, true, NULL, {{cols:j}}
FROM existing_dedup d JOIN {{job}} j ON j.id = d.id
UNION ALL
SELECT n.ord, false, NULL, {{names:r}}
FROM to_insert n JOIN inserted_roots r ON r.id::{{id_type}} = n.new_id::{{id_type}}
UNION ALL
SELECT n.ord, r.conflicted, NULL, {{names:r}}
FROM to_insert n
JOIN inserted_continuations r ON r.chain_id::{{id_type}} = n.chain_id::{{id_type}} AND r.chain_index = n.chain_index
UNION ALL
SELECT f.ord, true, f.first_ord, {{nulls}}
FROM first_of_key f WHERE f.first_ord IS NOT NULL AND f.first_ord <> f.ord
ORDER BY 1
"""

# The common case of CREATE_JOBS: new chains with no deduplication key (every job is a first
# job, `chain_id` unset). Nothing can match an existing row, so it is a plain insert: no
# lookup, no conflict handling, and a plan that costs a fraction of the general one. A
# caller-supplied id that exists already fails on the primary key, which the adapter reports
# as `DuplicateJobIdError`, as it does for CREATE_JOBS. One job binds plain parameters
# (CREATE_ROOT_JOB, cheaper than `unnest` for a single row); a batch goes through `unnest`
# (CREATE_ROOT_JOBS) and the adapter matches the returned rows to the input by id. Only what
# the database decides comes back (the id as stored, the two timestamps): the adapter knows
# the rest of a new row, and decoding twenty columns per row cost more than the insert.
_ROOT_COLUMNS = (
    "id, type_name, chain_id, chain_type_name, chain_index, input, scheduled_at, chain_trace_context, trace_context"
)

CREATE_ROOT_JOB = f"""
INSERT INTO {{job}} AS t ({_ROOT_COLUMNS})
VALUES (
  $1::text::{{id_type}}, $2::text, $1::text::{{id_type}}, $3::text, $4::int, $5::text::jsonb,
  {_SCHEDULED_AT.replace("n.schedule_at", "$6::timestamptz").replace("n.schedule_after_ms", "$7::float8")},
  $8::text, $9::text
)
RETURNING t.id::text AS id, t.created_at, t.scheduled_at
"""

CREATE_ROOT_JOBS = f"""
INSERT INTO {{job}} AS t ({_ROOT_COLUMNS})
SELECT n.new_id::{{id_type}}, n.type_name, n.new_id::{{id_type}}, n.chain_type_name, n.chain_index,
       n.input::jsonb, {_SCHEDULED_AT}, n.chain_trace_context, n.trace_context
FROM unnest(
  $1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::float8[], $8::text[], $9::text[]
) AS n(
  new_id, type_name, chain_type_name, chain_index, input, schedule_at, schedule_after_ms,
  chain_trace_context, trace_context
)
RETURNING t.id::text AS id, t.created_at, t.scheduled_at
"""

# --- blockers -----------------------------------------------------------------------------

# One statement, but it reports `stable = false` (and writes nothing) when a blocker chain's
# newest job became completed while this statement waited for its lock: that job may have
# been continued by a row this statement's snapshot cannot see. The adapter then runs it
# again, with a fresh snapshot that does see the continuation.
ADD_JOBS_BLOCKERS = """
WITH req AS (
  SELECT r.job_id::{id_type} AS job_id, r.chain_id::{id_type} AS chain_id, r.trace_context, r.idx, r.ord
  FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
    WITH ORDINALITY AS r(job_id, chain_id, trace_context, idx, ord)
),
seen AS (
  SELECT x.id, x.status FROM {job} x
  WHERE x.chain_id IN (SELECT chain_id FROM req)
    AND NOT EXISTS (SELECT 1 FROM {job} y WHERE y.chain_id = x.chain_id AND y.chain_index > x.chain_index)
),
tail AS MATERIALIZED (
  -- FOR SHARE conflicts with the UPDATE that completes the chain, so a completion either
  -- happened before (and is seen here) or waits and then sees the new blocker row.
  SELECT x.id, x.chain_id, x.status FROM {job} x WHERE x.id IN (SELECT id FROM seen) ORDER BY x.id FOR SHARE
),
stable AS MATERIALIZED (
  SELECT NOT EXISTS (
    SELECT 1 FROM tail t JOIN seen s ON s.id = t.id WHERE t.status = 'completed' AND s.status <> 'completed'
  ) AS ok
),
ins AS (
  INSERT INTO {job_blocker} (job_id, blocked_by_chain_id, "index", trace_context)
  SELECT r.job_id, r.chain_id, r.idx, r.trace_context FROM req r WHERE (SELECT ok FROM stable)
  ORDER BY r.ord
  RETURNING job_id
),
blocker_state AS (
  SELECT r.job_id, r.chain_id, r.ord, t.status FROM req r LEFT JOIN tail t ON t.chain_id = r.chain_id
),
upd AS (
  UPDATE {job} j SET status = 'blocked'
  WHERE (SELECT ok FROM stable) AND j.status = 'pending'
    AND j.id IN (SELECT b.job_id FROM blocker_state b WHERE b.status IS DISTINCT FROM 'completed')
  RETURNING {cols:j}
),
final AS (
  SELECT {names:u} FROM upd u
  UNION ALL
  SELECT {cols:j} FROM {job} j
  WHERE j.id IN (SELECT job_id FROM req) AND j.id NOT IN (SELECT u.id::{id_type} FROM upd u)
)
SELECT {names:f}, (SELECT ok FROM stable) AS stable,
  ARRAY(
    SELECT b.chain_id::text FROM blocker_state b
    WHERE b.job_id = f.id::{id_type} AND b.status IS DISTINCT FROM 'completed' ORDER BY b.ord
  ) AS incomplete_blocker_chain_ids,
  ARRAY(
    SELECT root.chain_trace_context FROM req r LEFT JOIN {job} root ON root.id = r.chain_id
    WHERE r.job_id = f.id::{id_type} ORDER BY r.ord
  ) AS blocker_chain_trace_contexts
FROM final f
"""

# Step 1 of unblock_jobs: lock the blocked dependents (in id order, so concurrent calls cannot
# deadlock) and read the trace contexts. When two blocker chains of one job complete in two
# concurrent transactions, the second waits here for the first to commit, so its step 2 (a
# new statement, a new snapshot) sees both chains completed. Without dependents, step 2 is
# skipped: the common case stays one round trip.
LOCK_BLOCKED_DEPENDENTS = """
WITH dependents AS (
  SELECT j.id FROM {job} j
  WHERE j.id IN (SELECT jb.job_id FROM {job_blocker} jb WHERE jb.blocked_by_chain_id = $1::text::{id_type})
    AND j.status = 'blocked'
  ORDER BY j.id
  FOR UPDATE
)
SELECT
  (SELECT count(*) FROM dependents) AS dependents,
  ARRAY(
    SELECT jb.trace_context FROM {job_blocker} jb
    WHERE jb.blocked_by_chain_id = $1::text::{id_type} AND jb.trace_context IS NOT NULL
    ORDER BY jb.job_id
  ) AS blocker_trace_contexts
"""

UNBLOCK_JOBS = """
WITH direct AS (
  SELECT DISTINCT jb.job_id FROM {job_blocker} jb WHERE jb.blocked_by_chain_id = $1::text::{id_type}
),
blocker_state AS (
  SELECT jb.job_id, (
    SELECT x.status FROM {job} x WHERE x.chain_id = jb.blocked_by_chain_id ORDER BY x.chain_index DESC LIMIT 1
  ) AS status
  FROM {job_blocker} jb WHERE jb.job_id IN (SELECT job_id FROM direct)
),
ready AS (
  SELECT job_id FROM blocker_state GROUP BY job_id HAVING bool_and(status IS NOT DISTINCT FROM 'completed')
)
UPDATE {job} j SET status = 'pending', scheduled_at = GREATEST(j.scheduled_at, now())
WHERE j.id IN (SELECT job_id FROM ready) AND j.status = 'blocked'
RETURNING {cols:j}
"""

# --- the worker's transitions -------------------------------------------------------------

# `has_blockers` lets the adapter answer the worker's next `get_job_blockers` without a round
# trip when the job has none (blocker rows are only ever written when a job is created).
#
# `has_more` starts its index walk at the claimed job's `scheduled_at`. The entries before it
# belong to jobs that left `pending` (their dead index entries linger until vacuum) or that
# other workers hold locked right now; walking them again doubled the server's work per claim
# (measured: about 510 instead of 340 us of server CPU per job). The hint only decides whether
# the slot claims again at once: a job it misses is found by the next claim or the wait loop's
# `get_next_job_available_in_ms`, which reports it as due now.
_HAS_MORE = """
EXISTS (
  SELECT 1 FROM {job} o
  WHERE o.type_name %s AND o.status = 'pending' AND o.scheduled_at <= now()
    AND o.scheduled_at >= j.scheduled_at AND o.id <> j.id
) AS has_more,
EXISTS (SELECT 1 FROM {job_blocker} b WHERE b.job_id = j.id) AS has_blockers
"""

# One type: a plain walk of the acquisition index from its oldest due entry.
ACQUIRE_JOB_ONE_TYPE = f"""
WITH pick AS (
  SELECT p.id FROM {{job}} p
  WHERE p.type_name = $1::text AND p.status = 'pending' AND p.scheduled_at <= now()
  ORDER BY p.scheduled_at
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
UPDATE {{job}} j SET status = 'running', attempt = j.attempt + 1
FROM pick WHERE j.id = pick.id
RETURNING {{cols:j}}, {_HAS_MORE % "= $1::text"}
"""

# Several types: `= ANY(...)` would make PostgreSQL sort every due job of those types to find
# the oldest. Instead, read each type's oldest due time (one index probe per type, no lock),
# then try the types in that order; the outer LIMIT stops at the first type that yields a
# row, so only one row is ever locked.
ACQUIRE_JOB_MANY_TYPES = f"""
WITH heads AS (
  SELECT t.type_name, (
    SELECT h.scheduled_at FROM {{job}} h
    WHERE h.type_name = t.type_name AND h.status = 'pending' AND h.scheduled_at <= now()
    ORDER BY h.scheduled_at LIMIT 1
  ) AS head
  FROM unnest($1::text[]) AS t(type_name)
),
pick AS (
  SELECT c.id
  FROM (SELECT type_name, head FROM heads WHERE head IS NOT NULL ORDER BY head) ordered
  CROSS JOIN LATERAL (
    SELECT p.id FROM {{job}} p
    WHERE p.type_name = ordered.type_name AND p.status = 'pending' AND p.scheduled_at <= now()
    ORDER BY p.scheduled_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  ) c
  LIMIT 1
)
UPDATE {{job}} j SET status = 'running', attempt = j.attempt + 1
FROM pick WHERE j.id = pick.id
RETURNING {{cols:j}}, {_HAS_MORE % "= ANY($1::text[])"}
"""

RENEW_JOB_LEASE = """
UPDATE {job} j
SET leased_by = $2::text, leased_until = now() + $3::float8 * interval '1 millisecond', status = 'running'
WHERE j.id = $1::text::{id_type}
RETURNING {cols:j}
"""

RESCHEDULE_JOB = """
UPDATE {job} j
SET scheduled_at = GREATEST(COALESCE($2::timestamptz, now() + $3::float8 * interval '1 millisecond', now()), now()),
    last_attempt_at = now(), last_attempt_error = $4::text::jsonb,
    leased_by = NULL, leased_until = NULL, status = 'pending'
WHERE j.id = $1::text::{id_type}
RETURNING {cols:j}
"""

# `unwatched_chain_end` tells the adapter it may answer the `unblock_jobs` call that follows
# without SQL. It is true when this completion ends the chain (no later job), no blocker row
# names the chain, and this transaction held the row lock before this statement began: the
# version read was written by it (`xmin`: claimed or created in it) or locked by it (`xmax`:
# `FOR UPDATE`), at the top level (a savepoint's ids differ, which only gives `false`).
#
# Why the lock must come first: `add_jobs_blockers` takes `FOR SHARE` on the newest job of
# each blocker chain, which conflicts with this transaction's lock. So every one that locked
# the row earlier has committed before this statement's snapshot, which sees its blocker rows;
# every later one waits for this transaction, then sees the chain completed (it re-reads when
# its snapshot missed the completion) and blocks nothing. Were the lock taken by this UPDATE
# itself, a blocker committed while it waited would be missing from the snapshot: hence
# `false` then, and `unblock_jobs` runs its own statements. (`xmax` can also hold a
# MultiXactId, from another counter; only one equal to this transaction's id, on a row
# completed without being locked first, could pass the test wrongly. The core always locks
# first: the worker by its claim or its ownership check, `complete_chain` by a locked
# `get_chain`.)
COMPLETE_JOB = """
WITH held AS (
  SELECT o.id, (o.xmin = x.me OR o.xmax = x.me) AS locked
  FROM {job} o CROSS JOIN (SELECT (txid_current() % 4294967296)::text::xid AS me) x
  WHERE o.id = $1::text::{id_type}
)
UPDATE {job} j
SET status = 'completed', completed_at = now(), completed_by = $3::text, output = $2::text::jsonb,
    leased_by = NULL, leased_until = NULL, last_attempt_error = NULL
FROM held
WHERE j.id = held.id
RETURNING {cols:j}, (
  held.locked
  AND NOT EXISTS (SELECT 1 FROM {job} n WHERE n.chain_id = j.chain_id AND n.chain_index > j.chain_index)
  AND NOT EXISTS (SELECT 1 FROM {job_blocker} b WHERE b.blocked_by_chain_id = j.chain_id)
) AS unwatched_chain_end
"""

REAP_EXPIRED_JOB_LEASE = """
WITH victim AS (
  SELECT v.id, v.leased_by, v.leased_until FROM {job} v
  WHERE v.type_name = ANY($1::text[]) AND v.status = 'running'
    AND v.leased_until IS NOT NULL AND v.leased_until <= now()
    AND v.id <> ALL($2::text[]::{id_type}[])
  ORDER BY v.leased_until
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
UPDATE {job} j SET leased_by = NULL, leased_until = NULL, status = 'pending'
FROM victim WHERE j.id = victim.id
RETURNING {cols:j}, victim.leased_by AS expired_leased_by, victim.leased_until AS expired_leased_until
"""

# --- admin operations ---------------------------------------------------------------------

EXPAND_CASCADE = """
WITH RECURSIVE connected(chain_id) AS (
  SELECT unnest($1::text[])::{id_type}
  UNION
  SELECT jb.blocked_by_chain_id FROM {job_blocker} jb JOIN connected c ON jb.job_id = c.chain_id
)
SELECT chain_id::text AS chain_id FROM connected
"""

# Locking every row of the chains in physical order before the reference check makes two
# overlapping deletes lock in the same order (no deadlock) and check what they delete.
DELETE_CHAINS = """
WITH locked AS (
  SELECT l.id FROM {job} l WHERE l.chain_id = ANY($1::text[]::{id_type}[]) ORDER BY l.ctid FOR UPDATE
),
ext AS (
  SELECT jb.job_id, jb.blocked_by_chain_id FROM {job_blocker} jb JOIN {job} o ON o.id = jb.job_id
  WHERE jb.blocked_by_chain_id = ANY($1::text[]::{id_type}[]) AND o.chain_id <> ALL($1::text[]::{id_type}[])
),
del_blockers AS (
  DELETE FROM {job_blocker} WHERE job_id IN (SELECT id FROM locked) AND NOT EXISTS (SELECT 1 FROM ext)
),
del_jobs AS (
  DELETE FROM {job} d WHERE d.id IN (SELECT id FROM locked) AND NOT EXISTS (SELECT 1 FROM ext)
  RETURNING {cols:d}
)
SELECT 'deleted' AS kind, NULL AS ref_chain_id, NULL AS ref_job_id, {names:r} FROM del_jobs r
UNION ALL
SELECT 'reference', e.blocked_by_chain_id::text, e.job_id::text, {nulls} FROM ext e
"""

# `$2` is false when the caller passed ids that cannot exist (not UUIDs): report, update nothing.
TRIGGER_JOBS = """
WITH wanted AS (SELECT DISTINCT w::{id_type} AS id FROM unnest($1::text[]) AS w),
locked AS (
  SELECT l.id, l.status FROM {job} l WHERE l.id IN (SELECT id FROM wanted) ORDER BY l.id FOR UPDATE
),
missing AS (SELECT w.id FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = w.id)),
bad AS (SELECT l.id, l.status FROM locked l WHERE l.status <> 'pending'),
upd AS (
  UPDATE {job} j SET scheduled_at = now()
  WHERE $2::boolean AND j.id IN (SELECT id FROM locked)
    AND NOT EXISTS (SELECT 1 FROM missing) AND NOT EXISTS (SELECT 1 FROM bad)
  RETURNING {cols:j}
)
SELECT 'triggered' AS kind, NULL AS ref_id, NULL AS ref_status, {names:u} FROM upd u
UNION ALL
SELECT 'not_found', m.id::text, NULL, {nulls} FROM missing m
UNION ALL
SELECT 'not_triggerable', b.id::text, b.status::text, {nulls} FROM bad b
"""

TRUNCATE = "TRUNCATE {job_blocker}, {job} CASCADE"
VACUUM_JOB = "VACUUM {job}"
VACUUM_JOB_BLOCKER = "VACUUM {job_blocker}"

# The migration runner takes this lock in each of its transactions, so two processes
# migrating at once apply each migration once instead of colliding in the catalog.
LOCK_MIGRATIONS = "SELECT pg_advisory_xact_lock(hashtext($1::text))::text AS locked"
SELECT_MIGRATIONS = "SELECT name FROM {migration} ORDER BY name"
MIGRATION_APPLIED = "SELECT 1 AS applied FROM {migration} WHERE name = $1::text"
