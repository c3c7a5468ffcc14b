CREATE TEMP TABLE _dag_rows AS SELECT * FROM (
SELECT game_date, x FROM `my-project.raw.t` WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-07'
) WHERE IF(`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-07', TRUE,
  ERROR('dag:OUT_OF_RANGE_ROWS: the SELECT yielded rows whose game_date is outside 2021-11-01..2021-11-07 (or NULL)'));
ALTER TABLE `my-project.precompute.player_daily_cache` ADD COLUMN IF NOT EXISTS `tag` STRING, ADD COLUMN IF NOT EXISTS `n` ARRAY<INT64>;
ALTER TABLE `my-project.precompute.player_daily_cache` ALTER COLUMN `x` SET DATA TYPE FLOAT64;
BEGIN TRANSACTION;
DELETE FROM `my-project.precompute.player_daily_cache` WHERE `game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-07';
INSERT INTO `my-project.precompute.player_daily_cache` (`x`, `game_date`, `tag`, `n`) SELECT `x`, `game_date`, `tag`, `n` FROM _dag_rows;
INSERT INTO `my-project._dag.partitions` (processor, table_name, partition_date, run_id, built_at, row_count, code_fingerprint, input_fingerprint)
SELECT @processor, @table_name, b.partition_date, @run_id, TIMESTAMP_MILLIS(@built_at), IFNULL(c.row_count, 0), @code_fingerprint, b.input_fingerprint
FROM UNNEST(@batch) AS b
LEFT JOIN (SELECT `game_date` AS partition_date, COUNT(*) AS row_count FROM _dag_rows GROUP BY 1) AS c ON c.partition_date = b.partition_date;
COMMIT TRANSACTION;
SELECT CAST(`game_date` AS STRING) AS partition_date, COUNT(*) AS row_count FROM _dag_rows GROUP BY 1;
