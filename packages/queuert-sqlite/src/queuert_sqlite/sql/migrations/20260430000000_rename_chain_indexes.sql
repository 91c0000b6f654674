-- Three indexes lose their "job_" infix. SQLite cannot rename an index, so each is dropped
-- and created again under its new name with the same definition. Every statement is
-- idempotent, so a half-applied run can simply be repeated.

DROP INDEX IF EXISTS {prefix}job_chain_index_idx;

CREATE UNIQUE INDEX IF NOT EXISTS {prefix}chain_index_idx
  ON {prefix}job (chain_id, chain_index);

DROP INDEX IF EXISTS {prefix}job_chain_listing_idx;

CREATE INDEX IF NOT EXISTS {prefix}chain_listing_idx
  ON {prefix}job (created_at DESC) WHERE chain_index = 0;

DROP INDEX IF EXISTS {prefix}job_chain_listing_type_name_idx;

CREATE INDEX IF NOT EXISTS {prefix}chain_listing_type_name_idx
  ON {prefix}job (type_name, created_at DESC) WHERE chain_index = 0;
