-- The job table, the blocker table and their indexes, under their original names.
-- Every statement is idempotent, so re-running the migration on a partly built schema is safe.

DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_type
    WHERE typname = '{prefix}job_status' AND typnamespace = '{schema}'::regnamespace
  ) THEN
    CREATE TYPE {schema}.{prefix}job_status AS ENUM ('blocked', 'pending', 'running', 'completed');
  END IF;
END
$$;

CREATE TABLE IF NOT EXISTS {schema}.{prefix}job (
  id                  {id_type} PRIMARY KEY,
  type_name           text NOT NULL,
  chain_id            {id_type} NOT NULL REFERENCES {schema}.{prefix}job (id),
  chain_type_name     text NOT NULL,
  chain_index         integer NOT NULL,
  input               jsonb,
  output              jsonb,
  status              {schema}.{prefix}job_status NOT NULL DEFAULT 'pending',
  created_at          timestamptz NOT NULL DEFAULT now(),
  scheduled_at        timestamptz NOT NULL DEFAULT now(),
  completed_at        timestamptz,
  completed_by        text,
  attempt             integer NOT NULL DEFAULT 0,
  last_attempt_at     timestamptz,
  last_attempt_error  jsonb,
  leased_by           text,
  leased_until        timestamptz,
  deduplication_key   text,
  chain_trace_context text,
  trace_context       text
);

CREATE TABLE IF NOT EXISTS {schema}.{prefix}job_blocker (
  job_id              {id_type} NOT NULL REFERENCES {schema}.{prefix}job (id),
  blocked_by_chain_id {id_type} NOT NULL REFERENCES {schema}.{prefix}job (id),
  "index"             integer NOT NULL,
  trace_context       text,
  PRIMARY KEY (job_id, blocked_by_chain_id)
);

-- acquire_job and get_next_job_available_in_ms: one type's due jobs in scheduled order.
CREATE INDEX IF NOT EXISTS {prefix}job_acquisition_idx
  ON {schema}.{prefix}job (type_name, scheduled_at) WHERE status = 'pending';

-- One job per chain position; the conflict target of concurrent continuations.
CREATE UNIQUE INDEX IF NOT EXISTS {prefix}job_chain_index_idx
  ON {schema}.{prefix}job (chain_id, chain_index);

CREATE INDEX IF NOT EXISTS {prefix}job_deduplication_idx
  ON {schema}.{prefix}job (deduplication_key, created_at DESC)
  WHERE deduplication_key IS NOT NULL AND chain_index = 0;

-- reap_expired_job_lease: running jobs by lease expiry.
CREATE INDEX IF NOT EXISTS {prefix}job_expired_lease_idx
  ON {schema}.{prefix}job (type_name, leased_until) WHERE status = 'running' AND leased_until IS NOT NULL;

CREATE INDEX IF NOT EXISTS {prefix}job_blocker_chain_idx
  ON {schema}.{prefix}job_blocker (blocked_by_chain_id);

-- Listings.
CREATE INDEX IF NOT EXISTS {prefix}job_chain_listing_idx
  ON {schema}.{prefix}job (created_at DESC) WHERE chain_index = 0;

CREATE INDEX IF NOT EXISTS {prefix}job_listing_idx
  ON {schema}.{prefix}job (created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_listing_status_idx
  ON {schema}.{prefix}job (status, created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_listing_type_name_idx
  ON {schema}.{prefix}job (type_name, created_at DESC);

CREATE INDEX IF NOT EXISTS {prefix}job_chain_listing_type_name_idx
  ON {schema}.{prefix}job (type_name, created_at DESC) WHERE chain_index = 0;
