/**
 * `dag plan --cost` on BigQuery: what one batch script bills on demand, statement by statement. Only
 * the processor's SELECT can be dry-run (the script's other statements read a temp table that exists
 * only while the script runs), so the rest follows BigQuery's pricing rules:
 * - a DML statement on a partitioned table bills the bytes it reads plus the total size of the
 *   partitions it modifies (https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#on-demand_query_size_calculation):
 *   the DELETE bills the batch's existing partitions, total_logical_bytes in INFORMATION_SCHEMA.PARTITIONS;
 * - every statement bills at least 10 MB (https://cloud.google.com/bigquery/pricing#on_demand_pricing),
 *   however little it reads: the ledger INSERT and the row counts read a few bytes of the temp table;
 * - the INSERT reads the staged rows, taken to be as large as the partitions they replace (nothing is
 *   known of them before the run).
 * DDL (CREATE SCHEMA, ALTER TABLE) is free; the CREATE TABLE ... AS SELECT of a new table is a query.
 * Capacity (slot) pricing bills none of this: the estimate is on-demand only, and says so.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { Day } from '../../core/dates.js';
import type { TableRef } from '../../core/model.js';
import type { BigqueryTarget } from '../../core/model.js';
import { isNotFound } from './errors.js';
import { runJob } from './jobs.js';
import { partitionIdToDay } from './snapshot.js';
import { partitionBytesSql } from './sql.js';

/** BigQuery's on-demand minimum per statement (10 MB). */
export const MIN_BILLED_BYTES = 10 * 2 ** 20;

export interface BilledStatement {
  readonly statement: string;
  readonly bytes: number;
}

/** The billed statements of one batch script (sql.ts batchScript), in order. */
export function batchBill(selectBytes: number, replacedBytes: number, createsTable: boolean): BilledStatement[] {
  const atLeast = (bytes: number) => Math.max(bytes, MIN_BILLED_BYTES);
  return [
    { statement: 'CREATE TEMP TABLE _dag_rows AS <select> (with the range check)', bytes: atLeast(selectBytes) },
    ...(createsTable ? [{ statement: 'CREATE TABLE ... AS SELECT * FROM _dag_rows WHERE FALSE', bytes: MIN_BILLED_BYTES }] : []),
    { statement: 'DELETE the batch partitions', bytes: atLeast(replacedBytes) },
    { statement: 'INSERT INTO the table FROM _dag_rows', bytes: atLeast(replacedBytes) },
    { statement: 'INSERT INTO the ledger', bytes: MIN_BILLED_BYTES },
    { statement: 'SELECT rows per partition', bytes: MIN_BILLED_BYTES },
  ];
}

/** total_logical_bytes per table and day of the datasets asked about, one metadata query per dataset per process. */
export class PartitionBytes {
  private readonly datasets = new Map<string, Promise<Map<string, Map<Day, number>>>>();

  constructor(
    private readonly client: BigQuery,
    private readonly target: BigqueryTarget,
    private readonly labels: () => Record<string, string>,
  ) {}

  /** Bytes of the table's partitions in start..end (0 for a table or dataset that does not exist). */
  async inRange(table: TableRef, start: Day, end: Day): Promise<number> {
    const partitions = (await this.dataset(table.schema)).get(table.name);
    let bytes = 0;
    for (const [day, size] of partitions ?? []) if (day >= start && day <= end) bytes += size;
    return bytes;
  }

  private dataset(name: string): Promise<Map<string, Map<Day, number>>> {
    let read = this.datasets.get(name);
    if (!read) {
      read = this.read(name);
      this.datasets.set(name, read);
    }
    return read;
  }

  private async read(dataset: string): Promise<Map<string, Map<Day, number>>> {
    const tables = new Map<string, Map<Day, number>>();
    let rows;
    try {
      rows = await runJob(this.client, partitionBytesSql(this.target.project, dataset), undefined, { target: this.target, labels: this.labels() });
    } catch (error) {
      if (isNotFound(error)) return tables;
      throw error;
    }
    for (const row of rows) {
      const day = partitionIdToDay(String(row.partition_id));
      if (day === undefined) continue;
      const table = tables.get(String(row.table_name)) ?? new Map<Day, number>();
      table.set(day, Number(row.total_logical_bytes ?? 0));
      tables.set(String(row.table_name), table);
    }
    return tables;
  }
}
