SELECT 'table' AS kind, table_name, ddl AS item, CAST(NULL AS INT64) AS total_rows, CAST(NULL AS INT64) AS modified_ms
FROM `my-project.precompute.INFORMATION_SCHEMA.TABLES` WHERE table_name IN UNNEST(@tables)
UNION ALL
SELECT 'column' AS kind, table_name, CONCAT(column_name, ':', data_type) AS item, NULL, NULL
FROM `my-project.precompute.INFORMATION_SCHEMA.COLUMNS` WHERE table_name IN UNNEST(@tables) AND is_partitioning_column = 'YES'
UNION ALL
SELECT 'partition' AS kind, table_name, partition_id AS item, total_rows, UNIX_MILLIS(last_modified_time) AS modified_ms
FROM `my-project.precompute.INFORMATION_SCHEMA.PARTITIONS` WHERE table_name IN UNNEST(@tables)
UNION ALL
SELECT 'expiration' AS kind, table_name, option_value AS item, NULL, NULL
FROM `my-project.precompute.INFORMATION_SCHEMA.TABLE_OPTIONS` WHERE table_name IN UNNEST(@tables) AND option_name = 'partition_expiration_days'
