CREATE SCHEMA IF NOT EXISTS "dag_target"."precompute";

BEGIN TRANSACTION;

CREATE OR REPLACE TEMP TABLE dag_stage AS SELECT * FROM (
-- daily cache
SELECT game_date, count(*) AS n
FROM "dag_target"."nba"."box"
WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
GROUP BY 1
) AS dag_select;

SELECT database_name = 'temp', column_name, data_type FROM duckdb_columns() WHERE (database_name = 'temp' AND schema_name = 'main' AND table_name = 'dag_stage') OR (database_name = 'dag_target' AND schema_name = 'precompute' AND table_name = 'player_daily_cache') ORDER BY column_index;

SELECT ("game_date" - DATE '1970-01-01')::INTEGER, count(*)::DOUBLE FROM temp.main.dag_stage GROUP BY 1;

CREATE TABLE "dag_target"."precompute"."player_daily_cache" AS SELECT * FROM temp.main.dag_stage;

DELETE FROM "dag_target"."_dag"."partitions" WHERE processor = 'PDC' AND partition_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';

INSERT INTO "dag_target"."_dag"."partitions" VALUES ('PDC', DATE '2021-11-01', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 1, 'c0de', 'f0'), ('PDC', DATE '2021-11-02', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 0, 'c0de', 'f1');

DROP TABLE temp.main.dag_stage;

COMMIT;

-- second batch;

BEGIN TRANSACTION;

CREATE OR REPLACE TEMP TABLE dag_stage AS SELECT * FROM (
-- daily cache
SELECT game_date, count(*) AS n
FROM "dag_target"."nba"."box"
WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02'
GROUP BY 1
) AS dag_select;

SELECT database_name = 'temp', column_name, data_type FROM duckdb_columns() WHERE (database_name = 'temp' AND schema_name = 'main' AND table_name = 'dag_stage') OR (database_name = 'dag_target' AND schema_name = 'precompute' AND table_name = 'player_daily_cache') ORDER BY column_index;

SELECT ("game_date" - DATE '1970-01-01')::INTEGER, count(*)::DOUBLE FROM temp.main.dag_stage GROUP BY 1;

DELETE FROM "dag_target"."precompute"."player_daily_cache" WHERE "game_date" BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';

INSERT INTO "dag_target"."precompute"."player_daily_cache" BY NAME SELECT * FROM temp.main.dag_stage;

DELETE FROM "dag_target"."_dag"."partitions" WHERE processor = 'PDC' AND partition_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-02';

INSERT INTO "dag_target"."_dag"."partitions" VALUES ('PDC', DATE '2021-11-01', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 1, 'c0de', 'f0'), ('PDC', DATE '2021-11-02', '20211103T120000-ab12', epoch_ms(1635940800000::BIGINT), 0, 'c0de', 'f1');

DROP TABLE temp.main.dag_stage;

COMMIT;
