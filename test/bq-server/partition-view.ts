/**
 * INFORMATION_SCHEMA.PARTITIONS as BigQuery lists it beyond a table's day partitions
 * (https://cloud.google.com/bigquery/docs/information-schema-partitions):
 * - an unpartitioned table has one row whose partition_id is NULL ("For unpartitioned tables, the
 *   value is NULL"), with its row count and the time of its last write;
 * - rows streamed into a partitioned table (tabledata.insertAll) sit in the streaming buffer, listed
 *   as the `__UNPARTITIONED__` partition, until BigQuery extracts them into their day partitions
 *   (https://cloud.google.com/bigquery/docs/streaming-data-into-bigquery#dataavailability): up to
 *   ~90 minutes, here until `flushStreamingBuffer()`. They are queryable meanwhile.
 * The unpartitioned tables' rows are computed when a query reads the view (a row count per table),
 * and their write times come from an INSERT-only log, so concurrent INSERT-only transactions on them
 * never conflict in DuckDB (BigQuery lets them run together).
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export const PARTITION_VIEW_SETUP = `
CREATE TABLE IF NOT EXISTS __bq.stream_buffer (table_schema VARCHAR, table_name VARCHAR, partition_id VARCHAR, row_count BIGINT, streamed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS __bq.table_writes (table_schema VARCHAR, table_name VARCHAR, written_at TIMESTAMP);
CREATE VIEW __bq.partitions AS
  WITH buffered AS (SELECT table_schema, table_name, partition_id, sum(row_count) AS buffered_rows, max(streamed_at) AS buffered_at FROM __bq.stream_buffer GROUP BY ALL)
  SELECT 'test-project' AS table_catalog, s.table_schema, s.table_name, s.partition_id, s.total_rows - coalesce(b.buffered_rows, 0) AS total_rows,
    (s.total_rows - coalesce(b.buffered_rows, 0)) * 100 AS total_logical_bytes, s.last_modified_time, 'ACTIVE' AS storage_tier
  FROM __bq.partition_state s LEFT JOIN buffered b USING (table_schema, table_name, partition_id)
  WHERE s.total_rows - coalesce(b.buffered_rows, 0) > 0
  UNION ALL
  SELECT 'test-project', table_schema, table_name, '__UNPARTITIONED__', sum(buffered_rows), sum(buffered_rows) * 100, max(buffered_at), 'ACTIVE'
  FROM buffered GROUP BY table_schema, table_name;
`;

const q = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Adds the NULL-partition row of each unpartitioned table of the datasets a translated query lists partitions of. */
export async function withUnpartitionedRows(connection: DuckDBConnection, sql: string): Promise<string> {
  const views = [...sql.matchAll(/\(SELECT \* FROM __bq\.partitions WHERE table_schema = '((?:[^']|'')*)'\)/g)];
  let out = sql;
  for (const view of views) {
    const dataset = (view[1] ?? '').replace(/''/g, "'");
    const reader = await connection.runAndReadAll(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = ${q(dataset)} AND table_type = 'BASE TABLE'
         AND table_name NOT IN (SELECT table_name FROM __bq.partitioning WHERE table_schema = ${q(dataset)}) ORDER BY 1`,
    );
    const rows = reader.getRows().map((r) => {
      const table = String(r[0]);
      return `SELECT 'test-project', ${q(dataset)}, ${q(table)}, CAST(NULL AS VARCHAR), (SELECT count(*) FROM "${dataset}"."${table}"),
        (SELECT count(*) FROM "${dataset}"."${table}") * 100,
        (SELECT max(written_at) FROM __bq.table_writes WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)}), 'ACTIVE'`;
    });
    if (rows.length > 0) out = out.replace(view[0], `(SELECT * FROM __bq.partitions WHERE table_schema = ${q(dataset)} UNION ALL ${rows.join(' UNION ALL ')})`);
  }
  return out;
}

/** Records a write to an unpartitioned table (inside the writer's transaction, so a rollback forgets it). */
export async function recordTableWrite(connection: DuckDBConnection, dataset: string, table: string, at: number): Promise<void> {
  await connection.run(`INSERT INTO __bq.table_writes VALUES (${q(dataset)}, ${q(table)}, epoch_ms(${at}))`);
}

/** Forgets a dropped table's writes and buffered rows. */
export async function forgetTable(connection: DuckDBConnection, dataset: string, table: string): Promise<void> {
  const where = `table_schema = ${q(dataset)} AND table_name = ${q(table)}`;
  await connection.run(`DELETE FROM __bq.table_writes WHERE ${where}; DELETE FROM __bq.stream_buffer WHERE ${where}`);
}
