SELECT table_name AS ledger_key, CAST(partition_date AS STRING) AS partition_date, run_id, UNIX_MILLIS(built_at) AS built_at_ms,
  row_count, code_fingerprint, input_fingerprint
FROM `my-project._dag.partitions`
WHERE table_name IN UNNEST(@keys)
QUALIFY ROW_NUMBER() OVER (PARTITION BY IFNULL(table_name, CONCAT('?', processor)), partition_date ORDER BY built_at DESC, run_id DESC) = 1
