SELECT table_name, column_name, is_partitioning_column FROM `my-project._dag.INFORMATION_SCHEMA.COLUMNS` ORDER BY table_name, ordinal_position;
SELECT value FROM `my-project._dag.meta` WHERE key = 'schema_version'
