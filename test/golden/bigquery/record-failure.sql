INSERT INTO `my-project._dag.failures` (run_id, processor, partition_date, category, message, attempt, failed_at)
SELECT @run_id, @processor, @partition_date, @category, @message, @attempt, TIMESTAMP_MILLIS(@failed_at)
