INSERT INTO `my-project._dag.checks` (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at)
SELECT @run_id, @processor, f.partition_date, f.check_name, f.severity, f.offending_rows, f.samples, TIMESTAMP_MILLIS(@built_at)
FROM UNNEST(@findings) AS f
