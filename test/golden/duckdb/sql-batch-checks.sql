CREATE SCHEMA IF NOT EXISTS "dag_target"."precompute";

SELECT true, column_name, column_type FROM (DESCRIBE SELECT * FROM (
SELECT game_date, id FROM "dag_target"."nba"."box" WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
) AS dag_select) UNION ALL SELECT false, column_name, data_type FROM (SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'dag_target' AND schema_name = 'precompute' AND table_name = 'player_daily_cache' ORDER BY column_index);

BEGIN TRANSACTION;
CREATE TABLE "dag_target"."precompute"."player_daily_cache" AS SELECT * FROM (
SELECT game_date, id FROM "dag_target"."nba"."box" WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
) AS dag_select;

SELECT dag_check, day, offending, dag_rank, sample FROM (SELECT dag_check, day, offending, NULL::BIGINT AS dag_rank, NULL::VARCHAR AS sample FROM (SELECT unnest([NULL::INTEGER, 0]) AS dag_check, day, unnest([dag_0, dag_1]) AS offending FROM (SELECT ("game_date" - DATE '1970-01-01')::INTEGER AS day, count(*)::DOUBLE AS dag_0, count_if("id" IS NULL)::DOUBLE AS dag_1 FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' GROUP BY 1)) WHERE dag_check IS NULL OR offending > 0
UNION ALL
SELECT NULL::INTEGER, NULL::INTEGER, count(*)::DOUBLE, NULL::BIGINT, NULL::VARCHAR FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" IS NULL OR "game_date" NOT BETWEEN DATE '2021-11-01' AND DATE '2021-11-02')
ORDER BY dag_check, day, dag_rank;

ROLLBACK;

BEGIN TRANSACTION;
CREATE TEMP TABLE "dag_checked_PDC_18932" AS SELECT * FROM (
SELECT game_date, id FROM "dag_target"."nba"."box" WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
) AS dag_select;

SELECT CASE WHEN "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' THEN ("game_date" - DATE '1970-01-01')::INTEGER END, count(*)::DOUBLE FROM temp.main."dag_checked_PDC_18932" GROUP BY 1;

SELECT 0::INTEGER AS dag_check, day, offending, dag_rank, sample FROM (SELECT (o."game_date" - DATE '1970-01-01')::INTEGER AS day, (count(*) OVER (PARTITION BY o."game_date"))::DOUBLE AS offending, row_number() OVER (PARTITION BY o."game_date") AS dag_rank, to_json(o)::VARCHAR AS sample FROM (
SELECT * FROM temp.main."dag_checked_PDC_18932" WHERE "id" IS NULL
) AS o WHERE o."game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
ORDER BY dag_check, day, dag_rank;

SELECT 1::INTEGER AS dag_check, day, offending, dag_rank, sample FROM (SELECT (o."game_date" - DATE '1970-01-01')::INTEGER AS day, (count(*) OVER (PARTITION BY o."game_date"))::DOUBLE AS offending, row_number() OVER (PARTITION BY o."game_date") AS dag_rank, to_json(o)::VARCHAR AS sample FROM (
SELECT d.day AS "game_date", coalesce(c.n, 0) AS "rows" FROM unnest([DATE '2021-11-01', DATE '2021-11-02']) AS d(day) LEFT JOIN (SELECT "game_date", count(*) AS n FROM temp.main."dag_checked_PDC_18932" GROUP BY "game_date") AS c ON c."game_date" = d.day WHERE coalesce(c.n, 0) < 2
) AS o WHERE o."game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02') WHERE dag_rank <= 5
ORDER BY dag_check, day, dag_rank;

CREATE TABLE "dag_target"."precompute"."player_daily_cache" AS SELECT * FROM temp.main."dag_checked_PDC_18932" WHERE "game_date" NOT IN (DATE '2021-11-02');
DROP TABLE temp.main."dag_checked_PDC_18932";

DELETE FROM "dag_target"."_dag"."partitions" WHERE table_name = 'precompute.player_daily_cache' AND partition_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' AND partition_date NOT IN (DATE '2021-11-02');
INSERT INTO "dag_target"."_dag"."partitions" (processor, partition_date, run_id, built_at, "rows", code_fingerprint, input_fingerprint, table_name) VALUES ('PDC', DATE '2021-11-01', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 2, 'c0de', 'f0', 'precompute.player_daily_cache');
INSERT INTO "dag_target"."_dag"."checks" (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at) VALUES ('20211103T120000-ab12', 'PDC', DATE '2021-11-02', 'row_count(min=2)', 'error', 1, '[{"game_date":"2021-11-02","rows":1}]', epoch_ms(1635940800000::BIGINT));
COMMIT;
