CREATE TEMP TABLE _dag_rows AS SELECT * FROM (
SELECT game_date, x FROM `my-project.raw.t` WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-07'
) WHERE IF(`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-07', TRUE,
  ERROR('dag:OUT_OF_RANGE_ROWS: the SELECT yielded rows whose game_date is outside 2021-11-01..2021-11-07 (or NULL)'));
CREATE TEMP TABLE _dag_findings AS
SELECT ...
;
CREATE SCHEMA IF NOT EXISTS `my-project.precompute`;
CREATE TABLE IF NOT EXISTS `my-project.precompute.player_daily_cache` PARTITION BY `game_date` AS SELECT * FROM _dag_rows WHERE FALSE;
BEGIN TRANSACTION;
DELETE FROM `my-project.precompute.player_daily_cache` WHERE `game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-07' AND `game_date` NOT IN (SELECT partition_date FROM _dag_findings WHERE severity = 'error');
INSERT INTO `my-project.precompute.player_daily_cache` (`game_date`, `x`) SELECT `game_date`, `x` FROM _dag_rows WHERE `game_date` NOT IN (SELECT partition_date FROM _dag_findings WHERE severity = 'error');
INSERT INTO `my-project._dag.partitions` (processor, table_name, partition_date, run_id, built_at, row_count, code_fingerprint, input_fingerprint)
SELECT @processor, @table_name, b.partition_date, @run_id, TIMESTAMP_MILLIS(@built_at), IFNULL(c.row_count, 0), @code_fingerprint, b.input_fingerprint
FROM UNNEST(@batch) AS b
LEFT JOIN (SELECT `game_date` AS partition_date, COUNT(*) AS row_count FROM _dag_rows GROUP BY 1) AS c ON c.partition_date = b.partition_date WHERE b.partition_date NOT IN (SELECT partition_date FROM _dag_findings WHERE severity = 'error');
-- the findings into _dag.checks
COMMIT TRANSACTION;
SELECT 'rows' AS kind, CAST(`game_date` AS STRING) AS partition_date, COUNT(*) AS row_count, CAST(NULL AS STRING) AS check_name, CAST(NULL AS STRING) AS severity, CAST(NULL AS STRING) AS sample FROM _dag_rows WHERE `game_date` NOT IN (SELECT partition_date FROM _dag_findings WHERE severity = 'error') GROUP BY 2
UNION ALL
SELECT 'finding', CAST(partition_date AS STRING), offending, check_name, severity, sample FROM _dag_findings;
