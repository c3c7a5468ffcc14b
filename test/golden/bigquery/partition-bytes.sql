SELECT table_name, partition_id, total_logical_bytes FROM `my-project.precompute.INFORMATION_SCHEMA.PARTITIONS`
