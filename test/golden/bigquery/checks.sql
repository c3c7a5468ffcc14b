SELECT check_name, severity, partition_date, offending, sample FROM (SELECT 'not_null(team)' AS check_name, 'error' AS severity, o.`game_date` AS partition_date, COUNT(*) OVER (PARTITION BY o.`game_date`) AS offending, ROW_NUMBER() OVER (PARTITION BY o.`game_date`) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (
SELECT * FROM _dag_rows WHERE `team` IS NULL
) AS o WHERE o.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
UNION ALL
SELECT check_name, severity, partition_date, offending, sample FROM (SELECT 'unique(team)' AS check_name, 'error' AS severity, o.`game_date` AS partition_date, COUNT(*) OVER (PARTITION BY o.`game_date`) AS offending, ROW_NUMBER() OVER (PARTITION BY o.`game_date`) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (
SELECT `game_date`, `team`, COUNT(*) AS copies FROM _dag_rows GROUP BY `game_date`, `team` HAVING COUNT(*) > 1
) AS o WHERE o.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
UNION ALL
SELECT check_name, severity, partition_date, offending, sample FROM (SELECT 'row_count(min=1)' AS check_name, 'warn' AS severity, o.`game_date` AS partition_date, COUNT(*) OVER (PARTITION BY o.`game_date`) AS offending, ROW_NUMBER() OVER (PARTITION BY o.`game_date`) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (
SELECT d.day AS `game_date`, COUNT(r.`game_date`) AS `rows` FROM (SELECT DATE '2021-11-01' AS day UNION ALL SELECT DATE '2021-11-02' AS day) AS d LEFT JOIN _dag_rows AS r ON r.`game_date` = d.day GROUP BY d.day HAVING COUNT(r.`game_date`) < 1
) AS o WHERE o.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
UNION ALL
SELECT check_name, severity, partition_date, offending, sample FROM (SELECT 'accepted_values(team)' AS check_name, 'error' AS severity, o.`game_date` AS partition_date, COUNT(*) OVER (PARTITION BY o.`game_date`) AS offending, ROW_NUMBER() OVER (PARTITION BY o.`game_date`) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (
SELECT * FROM _dag_rows WHERE `team` IS NOT NULL AND `team` NOT IN ('it\'s', 2, TRUE)
) AS o WHERE o.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
UNION ALL
SELECT check_name, severity, partition_date, offending, sample FROM (SELECT 'known' AS check_name, 'error' AS severity, o.`game_date` AS partition_date, COUNT(*) OVER (PARTITION BY o.`game_date`) AS offending, ROW_NUMBER() OVER (PARTITION BY o.`game_date`) AS dag_rank, TO_JSON_STRING(o) AS sample FROM (
SELECT r.* FROM _dag_rows AS r WHERE r.`team` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `test-project.raw.games` AS u WHERE u.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' AND u.`game_date` = r.`game_date` AND u.`team` = r.`team`)
) AS o WHERE o.`game_date` BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5;
INSERT INTO `my-project._dag.checks` (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at)
SELECT @run_id, @processor, partition_date, check_name, severity, MAX(offending), CONCAT('[', STRING_AGG(sample, ', '), ']'), TIMESTAMP_MILLIS(@built_at)
FROM _dag_findings GROUP BY partition_date, check_name, severity;
