SELECT f.processor, CAST(f.partition_date AS STRING) AS partition_date, f.category
FROM `my-project._dag.failures` AS f
LEFT JOIN (
  SELECT processor, partition_date, MAX(built_at) AS built_at FROM `my-project._dag.partitions`
  WHERE processor IN UNNEST(@processors) GROUP BY processor, partition_date
) AS l ON l.processor = f.processor AND l.partition_date = f.partition_date
WHERE f.processor IN UNNEST(@processors) AND (l.built_at IS NULL OR f.failed_at > l.built_at)
QUALIFY ROW_NUMBER() OVER (PARTITION BY f.processor, f.partition_date ORDER BY f.failed_at DESC, f.attempt DESC) = 1
