INSERT INTO `my-project._dag.failures` (run_id, processor, partition_date, category, message, attempt, failed_at)
SELECT f.run_id, f.processor, f.partition_date, f.category, f.message, f.attempt, TIMESTAMP_MILLIS(f.failed_at)
FROM UNNEST(@failures) AS f
