CREATE TEMP TABLE _dag_keep AS SELECT * FROM `my-project._dag.partitions` WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY IFNULL(table_name, CONCAT('?', processor)), partition_date ORDER BY built_at DESC, run_id DESC) = 1;
CREATE TEMP TABLE _dag_before AS SELECT COUNT(*) AS n FROM `my-project._dag.partitions`;
BEGIN TRANSACTION;
DELETE FROM `my-project._dag.partitions` WHERE TRUE;
INSERT INTO `my-project._dag.partitions` SELECT * FROM _dag_keep;
COMMIT TRANSACTION;
SELECT (SELECT n FROM _dag_before) AS before_rows, (SELECT COUNT(*) FROM _dag_keep) AS after_rows;
