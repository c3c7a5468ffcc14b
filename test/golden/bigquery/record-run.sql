INSERT INTO `my-project._dag.runs` (run_id, command_line, target, started_at, ended_at, outcome, recorded_at, range_start, range_end, built, failed, upstream_failed, blocked)
SELECT @run_id, @command_line, @target, TIMESTAMP_MILLIS(@started_at),
  IF(@ended_at < 0, NULL, TIMESTAMP_MILLIS(@ended_at)), NULLIF(@outcome, ''), CURRENT_TIMESTAMP(),
  CAST(NULLIF(@range_start, '') AS DATE), CAST(NULLIF(@range_end, '') AS DATE),
  IF(@built < 0, NULL, @built), IF(@failed < 0, NULL, @failed), IF(@upstream_failed < 0, NULL, @upstream_failed), IF(@blocked < 0, NULL, @blocked)
