CREATE SCHEMA IF NOT EXISTS "dag_target"."precompute";

SELECT true, column_name, column_type FROM (DESCRIBE SELECT * FROM (
-- daily cache
SELECT game_date, count(*) AS n
FROM "dag_target"."nba"."box"
WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
GROUP BY 1
) AS dag_select) UNION ALL SELECT false, column_name, data_type FROM (SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'dag_target' AND schema_name = 'precompute' AND table_name = 'player_daily_cache' ORDER BY column_index);

BEGIN TRANSACTION;
CREATE TABLE "dag_target"."precompute"."player_daily_cache" AS SELECT * FROM (
-- daily cache
SELECT game_date, count(*) AS n
FROM "dag_target"."nba"."box"
WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
GROUP BY 1
) AS dag_select;

SELECT ("game_date" - DATE '1970-01-01')::INTEGER, count(*)::DOUBLE FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' GROUP BY 1 UNION ALL SELECT NULL, count(*)::DOUBLE FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" IS NULL OR "game_date" NOT BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';

DELETE FROM "dag_target"."_dag"."partitions" WHERE table_name = 'precompute.player_daily_cache' AND partition_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';
INSERT INTO "dag_target"."_dag"."partitions" (processor, partition_date, run_id, built_at, "rows", code_fingerprint, input_fingerprint, table_name) VALUES ('PDC', DATE '2021-11-01', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 1, 'c0de', 'f0', 'precompute.player_daily_cache'), ('PDC', DATE '2021-11-02', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 0, 'c0de', 'f1', 'precompute.player_daily_cache');
COMMIT;

-- second batch;

BEGIN TRANSACTION;
DELETE FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';
INSERT INTO "dag_target"."precompute"."player_daily_cache" BY NAME SELECT * FROM (
-- daily cache
SELECT game_date, count(*) AS n
FROM "dag_target"."nba"."box"
WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
GROUP BY 1
) AS dag_select;

SELECT ("game_date" - DATE '1970-01-01')::INTEGER, count(*)::DOUBLE FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02' GROUP BY 1;

DELETE FROM "dag_target"."_dag"."partitions" WHERE table_name = 'precompute.player_daily_cache' AND partition_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';
INSERT INTO "dag_target"."_dag"."partitions" (processor, partition_date, run_id, built_at, "rows", code_fingerprint, input_fingerprint, table_name) VALUES ('PDC', DATE '2021-11-01', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 1, 'c0de', 'f0', 'precompute.player_daily_cache'), ('PDC', DATE '2021-11-02', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 0, 'c0de', 'f1', 'precompute.player_daily_cache');
COMMIT;
