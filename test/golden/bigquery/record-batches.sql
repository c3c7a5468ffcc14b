INSERT INTO `my-project._dag.batches` (run_id, processor, start_date, end_date, outcome, category, attempts, row_count, started_at, ended_at)
SELECT b.run_id, b.processor, CAST(b.start_date AS DATE), CAST(b.end_date AS DATE), b.outcome, NULLIF(b.category, ''), b.attempts,
  IF(b.row_count < 0, NULL, b.row_count), IF(b.started_ms < 0, NULL, TIMESTAMP_MILLIS(b.started_ms)), IF(b.ended_ms < 0, NULL, TIMESTAMP_MILLIS(b.ended_ms))
FROM UNNEST(@batches) AS b
