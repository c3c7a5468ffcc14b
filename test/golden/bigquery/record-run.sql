INSERT INTO `my-project._dag.runs` (run_id, command_line, target, started_at, ended_at, outcome, recorded_at)
SELECT @run_id, @command_line, @target, TIMESTAMP_MILLIS(@started_at),
  IF(@ended_at < 0, NULL, TIMESTAMP_MILLIS(@ended_at)), NULLIF(@outcome, ''), CURRENT_TIMESTAMP()
