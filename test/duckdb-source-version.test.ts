/**
 * A source partition's version is its row-hash sum split at 2^52 (sourceVersion). The split is taken
 * by shift and mask since issue 15 (DuckDB's HUGEINT division was half of a 300-source plan's CPU);
 * versions recorded before, by division, must read back equal, or every reader of every source would
 * turn stale after an upgrade. The snapshot compares each partition with its LATEST recorded version
 * (every recorded row comes back joined, the latest picked in JS since issue 15): a value changed and
 * changed back is still a change since the last record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineNode } from '../src/core/model.js';
import { sourceVersionsSql } from '../src/warehouse/duckdb/snapshot.js';
import { sliceSources, type InventoryRequest } from '../src/warehouse/duckdb/snapshot-columns.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { duckdbTarget, execSql, withDuckdb } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { day } from './support/pipeline-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'dag-source-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The formula versions were recorded with before issue 15. */
const BY_DIVISION =
  "SELECT t.d AS partition_date, (sum(hash(t)) // 4503599627370496)::VARCHAR || '.' || (sum(hash(t)) % 4503599627370496)::VARCHAR || ':' || count(*)::VARCHAR AS version FROM raw.events AS t WHERE t.d IS NOT NULL GROUP BY 1";

describe('source versions', () => {
  it('are the same text by shift and mask as by division, high half included', async () => {
    const node = { kind: 'source', name: 'events', table: { schema: 'raw', name: 'events' }, partitionColumn: 'd' } as unknown as PipelineNode;
    const rows = await withDuckdb(join(dir, 'w.duckdb'), async (c) => {
      await c.run('CREATE SCHEMA raw');
      // Days with 1 to 3,000 rows: sums of 64-bit hashes from below 2^64 to far above 2^52.
      await c.run(
        "CREATE TABLE raw.events AS SELECT DATE '2024-01-01' + (i % 40)::INTEGER AS d, i AS v, md5(i::VARCHAR) AS s FROM range(0, 60000) r(i) WHERE i % 40 < 20 OR i < 40",
      );
      const sql = `SELECT a.partition_date::VARCHAR, a.version, b.version FROM (${sourceVersionsSql(node).replace('"dag_target".', '')}) AS a FULL JOIN (${BY_DIVISION}) AS b USING (partition_date) ORDER BY 1`;
      return (await c.runAndReadAll(sql)).getRows().map((r) => r.map(String));
    });
    expect(rows).toHaveLength(40);
    for (const [day, shifted, divided] of rows) expect({ day, version: shifted }).toEqual({ day, version: divided });
    // The high half is non-zero somewhere: the split itself is compared, not only the low half.
    expect(rows.some(([, v]) => !String(v).startsWith('0.'))).toBe(true);
  });
});

describe('recorded versions read by the snapshot', () => {
  it('take the latest recorded version of each partition, however many were recorded', async () => {
    const db = join(dir, 'latest.duckdb');
    const events = source('events', 'raw.events', 'd');
    const reader = sqlProcessor('R', 'out.r', 'SELECT 1', { partitionColumn: 'd', upstream: [{ name: 'events', mapping: { kind: 'same' } as const }] });
    const pipeline = pipelineOf(db, [events, reader]);
    // Rows inserted out of day order, two or three a day.
    await execSql(
      db,
      'CREATE SCHEMA raw',
      'CREATE SCHEMA out',
      "CREATE TABLE raw.events AS SELECT DATE '2024-01-01' + ((i * 7) % 5)::INTEGER AS d, i AS v FROM range(0, 12) r(i)",
      'CREATE TABLE out.r AS SELECT DISTINCT d FROM raw.events',
    );
    const record = async (at: number): Promise<void> => {
      const w = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: false });
      await w.recordSourceVersions(pipeline, await w.readSnapshot(pipeline, ['events', 'R']), at);
      await w.close();
    };
    await record(1_000);
    await execSql(db, "INSERT INTO _dag.partitions SELECT 'R', d, 'run', epoch_ms(1500), 1, 'code', 'x', 'out.r' FROM out.r");
    // Day 1 changes and is recorded again, then changes back: its latest record no longer matches.
    // Day 2 changes and is recorded again: its latest record matches. Day 3 changes after every record.
    const set = (d: string, v: string): string => `UPDATE raw.events SET v = ${v} WHERE d = DATE '${d}'`;
    await execSql(db, set('2024-01-01', 'v + 100'), set('2024-01-02', 'v + 100'));
    await record(2_000);
    await execSql(db, set('2024-01-01', 'v - 100'), set('2024-01-04', 'v + 1'));
    const recorded = await withDuckdb(db, async (c) => (await c.runAndReadAll('SELECT count(*)::INTEGER FROM _dag.source_versions')).getRows());
    expect(recorded).toEqual([[7]]); // 5 days at 1,000, two of them again at 2,000

    const w = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: true });
    const snapshot = await w.readSnapshot(pipeline, ['events', 'R']);
    await w.close();
    const changedAt = [...snapshot.tables.get('events')!.partitions].map(([d, info]) => [d - day('2024-01-01'), info.changedAt]);
    expect(changedAt).toEqual([
      [0, Infinity],
      [1, 2_000],
      [2, 1_000],
      [3, Infinity],
      [4, 1_000],
    ]);
  });

  it('are picked alike from rows in any order', () => {
    const requests = [
      { node: source('a', 'raw.a', 'd'), kind: 'hashed' },
      { node: source('b', 'raw.b', 'd'), kind: 'pending' },
    ] as const satisfies readonly InventoryRequest[];
    // table, day, rows, high, low, recorded at (NaN: none), same; day 10 of table 0 recorded twice.
    const rows = [
      [0, 10, 3, 1, 2, 500, 1],
      [0, 10, 3, 1, 2, 900, 0],
      [0, 11, 1, 5, 6, 700, 1],
      [0, 12, 1, 7, 8, NaN, 0],
      [1, 10, 4, NaN, NaN, NaN, 0],
    ];
    const columns = (order: readonly number[]): Float64Array[] => [0, 1, 2, 3, 4, 5, 6].map((c) => Float64Array.from(order, (r) => rows[r]![c]!));
    const read = (order: readonly number[]) =>
      sliceSources(columns(order), requests).map((slice) => ({
        days: [...slice.days],
        rows: [...slice.rows],
        changedAt: [...slice.changedAt],
        high: [...slice.high],
      }));
    const expected = [
      { days: [10, 11, 12], rows: [3, 1, 1], changedAt: [Infinity, 700, Infinity], high: [1, 5, 7] },
      { days: [10], rows: [4], changedAt: [Infinity], high: [NaN] },
    ];
    expect(read([0, 1, 2, 3, 4])).toEqual(expected);
    expect(read([4, 3, 1, 2, 0])).toEqual(expected);
    expect(read([2, 0, 4, 1, 3])).toEqual(expected);
    // Without the later differing record, day 10 is unchanged since 500.
    expect(read([4, 2, 0, 3]).at(0)?.changedAt).toEqual([500, 700, Infinity]);
  });
});
