INSERT INTO `my-project._dag.partitions` (processor, table_name, partition_date, run_id, built_at, row_count, code_fingerprint, input_fingerprint)
SELECT @processor, @table_name, b.partition_date, @run_id, TIMESTAMP_MILLIS(@built_at), b.row_count, @code_fingerprint, b.input_fingerprint
FROM UNNEST(@batch) AS b
