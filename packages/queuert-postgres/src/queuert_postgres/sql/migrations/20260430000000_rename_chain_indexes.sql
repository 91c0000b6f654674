-- Indexes over whole chains lose the misleading "job_" in their names.

ALTER INDEX IF EXISTS {schema}.{prefix}job_chain_index_idx RENAME TO {prefix}chain_index_idx;

ALTER INDEX IF EXISTS {schema}.{prefix}job_chain_listing_idx RENAME TO {prefix}chain_listing_idx;

ALTER INDEX IF EXISTS {schema}.{prefix}job_chain_listing_type_name_idx RENAME TO {prefix}chain_listing_type_name_idx;
