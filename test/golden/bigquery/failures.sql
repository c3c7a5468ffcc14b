SELECT f.processor, CAST(f.partition_date AS STRING) AS partition_date, f.category
FROM `my-project._dag.failures` AS f
JOIN UNNEST(@names) AS n ON n.processor = f.processor
LEFT JOIN (
  SELECT table_name AS ledger_key, partition_date, MAX(built_at) AS built_at FROM `my-project._dag.partitions`
  WHERE table_name IN (SELECT k.ledger_key FROM UNNEST(@names) AS k) GROUP BY 1, 2
) AS l ON l.ledger_key = n.ledger_key AND l.partition_date = f.partition_date
WHERE l.built_at IS NULL OR f.failed_at > l.built_at
QUALIFY ROW_NUMBER() OVER (PARTITION BY f.processor, f.partition_date ORDER BY f.failed_at DESC, f.attempt DESC) = 1
