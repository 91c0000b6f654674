-- Statements of the SQLite state adapter, one per "-- name:" header.
--
-- "-- returns:" lists the result columns: "job" is every job column, "lc" every job column
-- prefixed lc_ (the newest job of a chain, NULL when there is none), "x:type" one more
-- column. A statement without it returns no rows.
--
-- Placeholders, resolved once per adapter: {job} and {job_blocker} are the prefixed table
-- names, {prefix} the prefix itself, {now} the current time as stored text,
-- {cols} / {cols:a} the job columns (qualified by alias a), {lc_cols:a} the same
-- columns of alias a named lc_*.
--
-- Times are text 'YYYY-MM-DD HH:MM:SS.SSS' (UTC); every value has exactly that shape, so
-- comparing and MAX() on the text is comparing the times. A relative time is
-- strftime('%Y-%m-%d %H:%M:%f', 'now', ?) with a modifier such as '+5.000 seconds' bound.
-- Lists are bound as one JSON array and expanded with json_each.

-- name: get_job
-- returns: job
SELECT {cols:j} FROM {job} j WHERE j.id = ?1

-- The no-op write takes SQLite's write lock, which holds other writers off until commit,
-- the way FOR UPDATE does elsewhere. It touches an unindexed column, so no index changes.
-- name: get_job_locked
-- returns: job
UPDATE {job} SET attempt = attempt WHERE id = ?1 RETURNING {cols}

-- name: get_chain
-- returns: job, lc
SELECT {cols:j}, {lc_cols:lc}
FROM {job} j
LEFT JOIN {job} lc
  ON lc.rowid = (SELECT x.rowid FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1)
WHERE j.id = ?1 AND j.chain_id = j.id

-- name: lock_chain
UPDATE {job} SET attempt = attempt
WHERE rowid = (SELECT x.rowid FROM {job} x WHERE x.chain_id = ?1 ORDER BY x.chain_index DESC LIMIT 1)

-- name: get_job_blockers
-- returns: job, lc
SELECT {cols:j}, {lc_cols:lc}
FROM {job_blocker} b
JOIN {job} j ON j.id = b.blocked_by_chain_id
LEFT JOIN {job} lc
  ON lc.rowid = (SELECT x.rowid FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1)
WHERE b.job_id = ?1
ORDER BY b."index"

-- Existing continuations at the requested positions; ?1 is [[chain_id, chain_index], ...].
-- name: find_continuations
-- returns: job
SELECT {cols:j}
FROM json_each(?1) req
JOIN {job} j
  ON j.chain_id = json_extract(req.value, '$[0]')
 AND j.chain_index = json_extract(req.value, '$[1]')
 AND j.id <> j.chain_id

-- The newest chain a deduplicated start may reuse. Scope 'incomplete' is chain-level: the
-- chain's newest job must not be completed. ?4 is a negative window modifier or NULL, ?5 a
-- JSON array of excluded chain ids.
-- name: find_duplicate
-- returns: job
SELECT {cols:j}
FROM {job} j
WHERE j.deduplication_key = ?1
  AND j.chain_index = 0
  AND j.chain_type_name = ?2
  AND (?3 = 'any'
       OR (SELECT x.status FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1) <> 'completed')
  AND (?4 IS NULL OR j.created_at >= strftime('%Y-%m-%d %H:%M:%f', 'now', ?4))
  AND j.chain_id NOT IN (SELECT value FROM json_each(?5))
ORDER BY j.created_at DESC, j.rowid DESC
LIMIT 1

-- ?1 is one JSON array per job: [id, type_name, chain_id, chain_type_name, chain_index,
-- input (JSON text or null), deduplication_key, at (time text or null),
-- after (modifier or null), chain_trace_context, trace_context].
-- scheduled_at is never earlier than now: a past time means "now".
-- name: insert_jobs
-- returns: job
INSERT INTO {job} (id, type_name, chain_id, chain_type_name, chain_index, input, deduplication_key,
                   created_at, scheduled_at, chain_trace_context, trace_context)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),
       json_extract(value, '$[6]'), {now},
       MAX(COALESCE(json_extract(value, '$[7]'),
                    strftime('%Y-%m-%d %H:%M:%f', 'now', json_extract(value, '$[8]')),
                    {now}),
           {now}),
       json_extract(value, '$[9]'), json_extract(value, '$[10]')
FROM json_each(?1)
WHERE true
RETURNING {cols}

-- name: find_existing_ids
-- returns: id:string
SELECT id FROM {job} WHERE id IN (SELECT value FROM json_each(?1))

-- name: find_roots
-- returns: id:string
SELECT id FROM {job} WHERE id IN (SELECT value FROM json_each(?1)) AND chain_id = id

-- Jobs and blocker chains named by add_jobs_blockers, with each chain's newest status.
-- name: blocker_targets
-- returns: id:string, chain_id:string, chain_trace_context:string?, last_status:string?
SELECT j.id, j.chain_id, j.chain_trace_context,
       (SELECT x.status FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1) AS last_status
FROM {job} j
WHERE j.id IN (SELECT value FROM json_each(?1))

-- ?1 is one JSON array per blocker row: [job_id, blocked_by_chain_id, index, trace_context].
-- name: insert_blockers
INSERT INTO {job_blocker} (job_id, blocked_by_chain_id, "index", trace_context)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]')
FROM json_each(?1)

-- name: block_jobs
-- returns: job
UPDATE {job} SET status = 'blocked'
WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending'
RETURNING {cols}

-- name: get_jobs
-- returns: job
SELECT {cols:j} FROM {job} j WHERE j.id IN (SELECT value FROM json_each(?1))

-- Every blocked dependent of chain ?1 whose blocker chains are all complete (each chain's
-- newest job completed). A blocker chain that no longer exists counts as incomplete.
-- name: unblock_jobs
-- returns: job
UPDATE {job} SET status = 'pending', scheduled_at = MAX(scheduled_at, {now})
WHERE status = 'blocked'
  AND id IN (SELECT job_id FROM {job_blocker} WHERE blocked_by_chain_id = ?1)
  AND NOT EXISTS (
    SELECT 1 FROM {job_blocker} b
    WHERE b.job_id = {job}.id
      AND COALESCE((SELECT x.status FROM {job} x WHERE x.chain_id = b.blocked_by_chain_id
                    ORDER BY x.chain_index DESC LIMIT 1), '') <> 'completed')
RETURNING {cols}

-- name: blocker_trace_contexts
-- returns: trace_context:string
SELECT trace_context FROM {job_blocker}
WHERE blocked_by_chain_id = ?1 AND trace_context IS NOT NULL
ORDER BY job_id

-- name: next_job_available_in_ms
-- returns: available_in_ms:number
SELECT MAX(0, CAST(ROUND((julianday(scheduled_at) - julianday('now')) * 86400000.0) AS INTEGER)) AS available_in_ms
FROM {job} INDEXED BY {prefix}job_acquisition_idx
WHERE type_name IN (SELECT value FROM json_each(?1)) AND status = 'pending'
ORDER BY scheduled_at ASC
LIMIT 1

-- Writes are serialized (one writer per database), so picking then updating in one
-- statement cannot hand a job to two callers; no SKIP LOCKED is needed. Ties on
-- scheduled_at go to the job inserted first.
-- name: acquire_job
-- returns: job, has_more:boolean
UPDATE {job} SET status = 'running', attempt = attempt + 1
WHERE rowid = (
  SELECT rowid FROM {job} INDEXED BY {prefix}job_acquisition_idx
  WHERE type_name IN (SELECT value FROM json_each(?1)) AND status = 'pending' AND scheduled_at <= {now}
  ORDER BY scheduled_at ASC, rowid ASC
  LIMIT 1)
RETURNING {cols},
  EXISTS (SELECT 1 FROM {job} o INDEXED BY {prefix}job_acquisition_idx
          WHERE o.type_name IN (SELECT value FROM json_each(?1)) AND o.status = 'pending'
            AND o.scheduled_at <= {now} AND o.rowid <> {job}.rowid) AS has_more

-- name: renew_job_lease
-- returns: job
UPDATE {job}
SET leased_by = ?2, leased_until = strftime('%Y-%m-%d %H:%M:%f', 'now', ?3), status = 'running'
WHERE id = ?1
RETURNING {cols}

-- ?2 is an absolute time or NULL, ?3 a relative modifier or NULL.
-- name: reschedule_job
-- returns: job
UPDATE {job}
SET scheduled_at = MAX(COALESCE(?2, strftime('%Y-%m-%d %H:%M:%f', 'now', ?3), {now}), {now}),
    last_attempt_at = {now}, last_attempt_error = ?4,
    leased_by = NULL, leased_until = NULL, status = 'pending'
WHERE id = ?1
RETURNING {cols}

-- name: complete_job
-- returns: job
UPDATE {job}
SET status = 'completed', completed_at = {now}, completed_by = ?3, output = ?2,
    leased_by = NULL, leased_until = NULL, last_attempt_error = NULL
WHERE id = ?1
RETURNING {cols}

-- The job whose lease expired first, with the lease it had (the update clears it).
-- name: find_expired_lease
-- returns: id:string, leased_by:string?, leased_until:string?
SELECT id, leased_by, leased_until
FROM {job} INDEXED BY {prefix}job_expired_lease_idx
WHERE type_name IN (SELECT value FROM json_each(?1)) AND status = 'running'
  AND leased_until IS NOT NULL AND leased_until <= {now}
  AND id NOT IN (SELECT value FROM json_each(?2))
ORDER BY leased_until ASC, rowid ASC
LIMIT 1

-- name: release_lease
-- returns: job
UPDATE {job} SET leased_by = NULL, leased_until = NULL, status = 'pending'
WHERE id = ?1 AND status = 'running'
RETURNING {cols}

-- The chains the given chains' first jobs wait on, transitively; UNION visits each once.
-- name: expand_cascade
-- returns: chain_id:string
WITH RECURSIVE connected(chain_id) AS (
  SELECT value FROM json_each(?1)
  UNION
  SELECT b.blocked_by_chain_id FROM {job_blocker} b JOIN connected c ON b.job_id = c.chain_id
)
SELECT chain_id FROM connected

-- Jobs outside the set that wait on a chain in it.
-- name: external_blocker_references
-- returns: chain_id:string, referenced_by_job_id:string
SELECT b.blocked_by_chain_id AS chain_id, b.job_id AS referenced_by_job_id
FROM {job_blocker} b
JOIN {job} j ON j.id = b.job_id
WHERE b.blocked_by_chain_id IN (SELECT value FROM json_each(?1))
  AND j.chain_id NOT IN (SELECT value FROM json_each(?1))
ORDER BY b.blocked_by_chain_id, b.job_id

-- name: get_chains
-- returns: job, lc
SELECT {cols:j}, {lc_cols:lc}
FROM {job} j
LEFT JOIN {job} lc
  ON lc.rowid = (SELECT x.rowid FROM {job} x WHERE x.chain_id = j.id ORDER BY x.chain_index DESC LIMIT 1)
WHERE j.id IN (SELECT value FROM json_each(?1)) AND j.chain_id = j.id

-- Blocker rows first, then the jobs: each statement leaves every foreign key satisfied.
-- name: delete_chain_blockers
DELETE FROM {job_blocker}
WHERE job_id IN (SELECT id FROM {job} WHERE chain_id IN (SELECT value FROM json_each(?1)))

-- name: delete_chain_jobs
DELETE FROM {job} WHERE chain_id IN (SELECT value FROM json_each(?1))

-- All or nothing: the update happens only when every id exists and is pending.
-- name: trigger_jobs
-- returns: job
UPDATE {job} SET scheduled_at = {now}
WHERE id IN (SELECT value FROM json_each(?1))
  AND NOT EXISTS (
    SELECT 1 FROM json_each(?1) req LEFT JOIN {job} x ON x.id = req.value
    WHERE x.id IS NULL OR x.status <> 'pending')
RETURNING {cols}

-- name: job_statuses
-- returns: id:string, status:string
SELECT id, status FROM {job} WHERE id IN (SELECT value FROM json_each(?1))

-- name: truncate_blockers
DELETE FROM {job_blocker}

-- name: truncate_jobs
DELETE FROM {job}

-- Frees pages earlier deletes released. SQLite frees one page per step of this statement,
-- and Python's sqlite3 module steps a statement without result columns only once, so the
-- adapter runs it once per free page (inside one transaction, where that is cheap).
-- name: incremental_vacuum
PRAGMA incremental_vacuum

-- name: freelist_count
-- returns: freelist_count:number
PRAGMA freelist_count

-- name: create_migration_table
CREATE TABLE IF NOT EXISTS {prefix}migration (
  name        TEXT PRIMARY KEY,
  applied_at  TEXT NOT NULL DEFAULT ({now})
)

-- name: applied_migrations
-- returns: name:string, applied_at:string
SELECT name, applied_at FROM {prefix}migration ORDER BY name

-- name: record_migration
INSERT INTO {prefix}migration (name) VALUES (?1) ON CONFLICT (name) DO NOTHING

-- name: schema_objects
-- returns: type:string, name:string
SELECT type, name FROM sqlite_master WHERE name IN (SELECT value FROM json_each(?1))

-- name: job_table_columns
-- returns: name:string
SELECT name FROM pragma_table_info(?1)

-- name: pragma_foreign_keys
-- returns: foreign_keys:number
PRAGMA foreign_keys

-- name: pragma_auto_vacuum
-- returns: auto_vacuum:number
PRAGMA auto_vacuum
