ALTER TABLE `my-project._dag.partitions` ADD COLUMN IF NOT EXISTS table_name STRING;
UPDATE `my-project._dag.partitions` AS p SET table_name = m.table_name FROM UNNEST(@mapping) AS m
WHERE p.processor = m.processor AND p.table_name IS NULL;
CREATE TABLE IF NOT EXISTS `my-project._dag.meta` (key STRING, value STRING);
INSERT INTO `my-project._dag.meta` (key, value) SELECT 'schema_version', '3' FROM (SELECT 1 AS one)
WHERE NOT EXISTS (SELECT 1 FROM `my-project._dag.meta` WHERE key = 'schema_version');
