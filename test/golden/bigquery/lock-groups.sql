UPDATE `my-project._dag.locks` SET command_groups = @command_groups WHERE target = @target AND run_id = @run_id;
ALTER TABLE `my-project._dag.locks` ADD COLUMN IF NOT EXISTS process_start STRING, ADD COLUMN IF NOT EXISTS command_groups STRING
