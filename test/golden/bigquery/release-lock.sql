DELETE FROM `my-project._dag.locks` WHERE target = @target AND run_id = @run_id
