CREATE OR REPLACE TABLE `my-project._dag.partitions_relayout` PARTITION BY DATE_TRUNC(partition_date, MONTH) CLUSTER BY table_name, processor AS SELECT * FROM `my-project._dag.partitions`;
DROP TABLE `my-project._dag.partitions`;
CREATE TABLE `my-project._dag.partitions` PARTITION BY DATE_TRUNC(partition_date, MONTH) CLUSTER BY table_name, processor AS SELECT * FROM `my-project._dag.partitions_relayout`;
DROP TABLE `my-project._dag.partitions_relayout`;
-- resuming an interrupted one:
CREATE TABLE `my-project._dag.partitions` PARTITION BY DATE_TRUNC(partition_date, MONTH) CLUSTER BY table_name, processor AS SELECT * FROM `my-project._dag.partitions_relayout`;
DROP TABLE `my-project._dag.partitions_relayout`;
