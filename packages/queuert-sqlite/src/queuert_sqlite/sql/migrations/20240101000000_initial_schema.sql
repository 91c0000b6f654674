-- The tables and their first indexes. Same tables, columns and index names as upstream
-- queuert (TypeScript) v0.14.1, so apps in both languages can share one database. The only
-- textual difference is the timestamp default: strftime('%Y-%m-%d %H:%M:%f', 'now') gives the
-- same 'YYYY-MM-DD HH:MM:SS.SSS' text as datetime('now', 'subsec') and also works on SQLite
-- older than 3.42 (such as the 3.40 that ships with many Python 3.11 builds).
-- Placeholders: {prefix} is the table prefix, {id_type} the id column type, {now} the
-- current-time expression.

CREATE TABLE IF NOT EXISTS {prefix}job (
  id                   {id_type} PRIMARY KEY,
  type_name            TEXT NOT NULL,
  chain_id             {id_type} NOT NULL REFERENCES {prefix}job(id),
  chain_type_name      TEXT NOT NULL,
  chain_index          INTEGER NOT NULL,
  input                TEXT,
  output               TEXT,
  status               TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('blocked', 'pending', 'running', 'completed')),
  created_at           TEXT NOT NULL DEFAULT ({now}),
  scheduled_at         TEXT NOT NULL DEFAULT ({now}),
  completed_at         TEXT,
  completed_by         TEXT,
  attempt              INTEGER NOT NULL DEFAULT 0,
  last_attempt_at      TEXT,
  last_attempt_error   TEXT,
  leased_by            TEXT,
  leased_until         TEXT,
  deduplication_key    TEXT,
  chain_trace_context  TEXT,
  trace_context        TEXT
);

-- Both foreign keys are enforced only on connections with PRAGMA foreign_keys = ON.
CREATE TABLE IF NOT EXISTS {prefix}job_blocker (
  job_id               {id_type} NOT NULL REFERENCES {prefix}job(id),
  blocked_by_chain_id  {id_type} NOT NULL REFERENCES {prefix}job(id),
  "index"              INTEGER NOT NULL,
  trace_context        TEXT,
  PRIMARY KEY (job_id, blocked_by_chain_id)
);

CREATE INDEX IF NOT EXISTS {prefix}job_acquisition_idx
  ON {prefix}job (type_name, scheduled_at) WHERE status = 'pending';

CREATE UNIQUE INDEX IF NOT EXISTS {prefix}job_chain_index_idx
  ON {prefix}job (chain_id, chain_index);

CREATE INDEX IF NOT EXISTS {prefix}job_deduplication_idx
  ON {prefix}job (deduplication_key, created_at DESC) WHERE deduplication_key IS NOT NULL AND chain_index = 0;

CREATE INDEX IF NOT EXISTS {prefix}job_expired_lease_idx
  ON {prefix}job (type_name, leased_until) WHERE status = 'running' AND leased_until IS NOT NULL;

CREATE INDEX IF NOT EXISTS {prefix}job_blocker_chain_idx
  ON {prefix}job_blocker (blocked_by_chain_id);

CREATE INDEX IF NOT EXISTS {prefix}job_chain_listing_idx
  ON {prefix}job (created_at DESC) WHERE chain_index = 0;

CREATE INDEX IF NOT EXISTS {prefix}job_listing_idx
  ON {prefix}job (created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_listing_status_idx
  ON {prefix}job (status, created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_listing_type_name_idx
  ON {prefix}job (type_name, created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_chain_listing_type_name_idx
  ON {prefix}job (type_name, created_at DESC) WHERE chain_index = 0;
