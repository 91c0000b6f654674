-- The latest queuert schema in one script, for a fresh database.
--
-- It builds exactly what applying every migration in sql/migrations/ builds (a test compares
-- the two catalogs). `get_schema_sql()` appends the rows that record every migration as
-- applied, so `migrate_to_latest()` has nothing left to do afterwards. The schema itself
-- must already exist.

CREATE TABLE IF NOT EXISTS {schema}.{prefix}migration (
  name       text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE {schema}.{prefix}job_status AS ENUM ('blocked', 'pending', 'running', 'completed');

CREATE TABLE {schema}.{prefix}job (
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
) WITH (
  fillfactor = 75,
  autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 0
);

CREATE TABLE {schema}.{prefix}job_blocker (
  job_id              {id_type} NOT NULL REFERENCES {schema}.{prefix}job (id),
  blocked_by_chain_id {id_type} NOT NULL REFERENCES {schema}.{prefix}job (id),
  "index"             integer NOT NULL,
  trace_context       text,
  PRIMARY KEY (job_id, blocked_by_chain_id)
) WITH (autovacuum_vacuum_cost_delay = 0);

CREATE INDEX {prefix}job_acquisition_idx
  ON {schema}.{prefix}job (type_name, scheduled_at) WHERE status = 'pending';

CREATE UNIQUE INDEX {prefix}chain_index_idx
  ON {schema}.{prefix}job (chain_id, chain_index);

CREATE INDEX {prefix}job_deduplication_idx
  ON {schema}.{prefix}job (deduplication_key, created_at DESC)
  WHERE deduplication_key IS NOT NULL AND chain_index = 0;

CREATE INDEX {prefix}job_expired_lease_idx
  ON {schema}.{prefix}job (type_name, leased_until) WHERE status = 'running' AND leased_until IS NOT NULL;

CREATE INDEX {prefix}job_blocker_chain_idx
  ON {schema}.{prefix}job_blocker (blocked_by_chain_id);

CREATE INDEX {prefix}chain_listing_idx
  ON {schema}.{prefix}job (created_at DESC) WHERE chain_index = 0;

CREATE INDEX {prefix}job_listing_idx
  ON {schema}.{prefix}job (created_at DESC);

CREATE INDEX {prefix}job_listing_status_idx
  ON {schema}.{prefix}job (status, created_at DESC);

CREATE INDEX {prefix}job_listing_type_name_idx
  ON {schema}.{prefix}job (type_name, created_at DESC);

CREATE INDEX {prefix}chain_listing_type_name_idx
  ON {schema}.{prefix}job (type_name, created_at DESC) WHERE chain_index = 0;
