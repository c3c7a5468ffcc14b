CREATE SCHEMA IF NOT EXISTS `my-project._dag`;
CREATE TABLE IF NOT EXISTS `my-project._dag.partitions` (processor STRING, partition_date DATE, run_id STRING, built_at TIMESTAMP,
  row_count INT64, code_fingerprint STRING, input_fingerprint STRING, table_name STRING) PARTITION BY DATE_TRUNC(partition_date, MONTH) CLUSTER BY table_name, processor;
CREATE TABLE IF NOT EXISTS `my-project._dag.runs` (run_id STRING, command_line STRING, target STRING, started_at TIMESTAMP,
  ended_at TIMESTAMP, outcome STRING, recorded_at TIMESTAMP, range_start DATE, range_end DATE, built INT64, failed INT64, upstream_failed INT64, blocked INT64);
CREATE TABLE IF NOT EXISTS `my-project._dag.batches` (run_id STRING, processor STRING, start_date DATE, end_date DATE, outcome STRING,
  category STRING, attempts INT64, row_count INT64, started_at TIMESTAMP, ended_at TIMESTAMP) CLUSTER BY run_id;
CREATE TABLE IF NOT EXISTS `my-project._dag.failures` (run_id STRING, processor STRING, partition_date DATE, category STRING,
  message STRING, attempt INT64, failed_at TIMESTAMP) CLUSTER BY processor, partition_date;
CREATE TABLE IF NOT EXISTS `my-project._dag.locks` (target STRING, run_id STRING, pid INT64, host STRING, since TIMESTAMP,
  command_line STRING, process_start STRING, command_groups STRING);
CREATE TABLE IF NOT EXISTS `my-project._dag.checks` (run_id STRING, processor STRING, partition_date DATE, check_name STRING,
  severity STRING, offending_rows INT64, samples STRING, checked_at TIMESTAMP) CLUSTER BY processor, partition_date;
CREATE TABLE IF NOT EXISTS `my-project._dag.meta` (key STRING, value STRING);
INSERT INTO `my-project._dag.meta` (key, value) SELECT 'schema_version', '3' FROM (SELECT 1 AS one)
WHERE NOT EXISTS (SELECT 1 FROM `my-project._dag.meta` WHERE key = 'schema_version');
