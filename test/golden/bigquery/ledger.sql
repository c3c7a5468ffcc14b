SELECT processor, CAST(partition_date AS STRING) AS partition_date, run_id, UNIX_MILLIS(built_at) AS built_at_ms,
  row_count, code_fingerprint, input_fingerprint
FROM `my-project._dag.partitions`
WHERE processor IN UNNEST(@processors)
QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY built_at DESC, run_id DESC) = 1
