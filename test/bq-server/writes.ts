/**
 * What one job's DML writes, partition by partition: each INSERT / UPDATE / DELETE runs with a
 * `RETURNING <partition id>` (DuckDB), so the server knows every partition a statement touched even
 * when the content ends up the same (`UPDATE t SET x = x`, a DELETE + INSERT of equal rows).
 * BigQuery moves a partition's last_modified_time on any write to it ("The time when the data was
 * most recently written to the partition":
 * https://cloud.google.com/bigquery/docs/information-schema-partitions), and refuses a job that
 * modifies more than 4,000 partitions of a table ("Number of partitions modified by a single job":
 * https://cloud.google.com/bigquery/quotas#partitioned_tables).
 */
import { BigqueryLikeError } from './translate.js';

export const PARTITIONS_PER_JOB = 4_000;

/** A DML statement BigQuery writes partitions with (CTAS and TRUNCATE are judged by their content). */
export function isDml(statement: string): boolean {
  return /^\s*(INSERT|UPDATE|DELETE)\b/i.test(statement) && !/\bRETURNING\b/i.test(statement);
}

/** The translated DML with a RETURNING clause yielding each written row's partition id (1 when unpartitioned). */
export function returningPartitions(sql: string, partitionId: string | undefined): string {
  return `${sql.replace(/;\s*$/, '')} RETURNING ${partitionId ?? '1'}`;
}

/** Partitions one job modified, per table; past 4,000 in one table the job fails, as on BigQuery. */
export class JobWrites {
  private readonly touched = new Map<string, Set<string>>();

  add(table: string, partitions: Iterable<string>): void {
    const set = this.touched.get(table) ?? new Set<string>();
    for (const id of partitions) set.add(id);
    this.touched.set(table, set);
    if (set.size > PARTITIONS_PER_JOB)
      throw new BigqueryLikeError(
        400,
        'invalidQuery',
        `Too many partitions produced by query, allowed ${PARTITIONS_PER_JOB}, query produces at least ${set.size} partitions (table ${table})`,
      );
  }
}
