SELECT processor, table_name, COUNT(*) AS n FROM (
  SELECT processor, table_name FROM `my-project._dag.partitions` WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY IFNULL(table_name, CONCAT('?', processor)), partition_date ORDER BY built_at DESC, run_id DESC) = 1
) GROUP BY processor, table_name
