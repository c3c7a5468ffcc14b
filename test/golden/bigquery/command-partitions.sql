SELECT partition_id, total_rows
FROM `my-project.predictions.INFORMATION_SCHEMA.PARTITIONS`
WHERE table_name = @table AND (partition_id BETWEEN '20211101' AND '20211107' OR partition_id = '__UNPARTITIONED__')
