UPDATE `my-project._dag.meta` SET value = '3' WHERE key = 'schema_version'
