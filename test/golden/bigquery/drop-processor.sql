DROP TABLE IF EXISTS `my-project.precompute.player_daily_cache`;
DELETE FROM `my-project._dag.partitions` WHERE processor = @processor OR table_name = @table_name;
