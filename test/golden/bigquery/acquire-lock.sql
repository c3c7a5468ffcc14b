INSERT INTO `my-project._dag.locks` (target, run_id, pid, host, since, command_line, process_start, command_groups)
SELECT @target, @run_id, @pid, @host, TIMESTAMP_MILLIS(@since), @command_line, NULLIF(@process_start, ''), @command_groups FROM (SELECT 1 AS one)
WHERE NOT EXISTS (SELECT 1 FROM `my-project._dag.locks` WHERE target = @target);
SELECT run_id, pid, host, UNIX_MILLIS(since) AS since_ms, command_line, process_start, command_groups FROM `my-project._dag.locks` WHERE target = @target ORDER BY since, run_id;
