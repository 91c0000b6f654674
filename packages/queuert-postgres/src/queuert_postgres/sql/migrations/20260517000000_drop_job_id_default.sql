-- Ids are always made by the application. Databases created by early versions had a
-- server-side UUID default on the id column; on newer ones this changes nothing.

ALTER TABLE {schema}.{prefix}job ALTER COLUMN id DROP DEFAULT;
