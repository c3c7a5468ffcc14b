/**
 * The DuckDB snapshot read column-wise (issue 15) on a real file with more tables than one inventory
 * query takes: queries grow by one per TABLES_PER_QUERY tables, never with dates, and every table's
 * rows, ledger entries and source versions (changed or not since recorded) arrive as they are.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../src/core/model.js';
import { TABLES_PER_QUERY } from '../src/warehouse/duckdb/snapshot-columns.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { tempProject } from './support/cli.js';
import { duckdbTarget, execSql } from './support/duckdb.js';
import { day, iso } from './support/pipeline-builder.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SOURCES = 40;
const PROCESSORS = 100;
const DAYS = 30;
const FIRST = day('2021-11-01');

describe('duckdb columnar snapshot', () => {
  it(`reads ${SOURCES + PROCESSORS} tables in ${Math.ceil(PROCESSORS / TABLES_PER_QUERY) + Math.ceil(SOURCES / TABLES_PER_QUERY)} inventory queries, with every fact`, async () => {
    const dir = tempProject({}, 'dag-columns-');
    dirs.push(dir);
    const db = join(dir, 'w.duckdb');
    const sources = Array.from({ length: SOURCES }, (_, i) => source(`s${i}`, `raw.s${i}`, 'd'));
    const processors = Array.from({ length: PROCESSORS }, (_, i) =>
      sqlProcessor(`P${i}`, `out.p${i}`, 'SELECT 1', { partitionColumn: 'd', upstream: [{ name: `s${i % SOURCES}`, mapping: { kind: 'same' } as const }] }),
    );
    const pipeline: Pipeline = pipelineOf(db, [...sources, ...processors]);
    const names = [...sources, ...processors].map((node) => node.name);
    const statements = ['CREATE SCHEMA IF NOT EXISTS raw', 'CREATE SCHEMA IF NOT EXISTS out'];
    // Source i has days 0..DAYS-1 except day i % DAYS, with (d % 3) + 1 rows each; processor i every day but day (i + 1) % DAYS.
    for (let i = 0; i < SOURCES; i++)
      statements.push(
        `CREATE TABLE raw.s${i} AS SELECT (DATE '2021-11-01' + x::INTEGER)::DATE AS d, y AS v FROM range(${DAYS}) a(x), range(3) b(y) WHERE x <> ${i % DAYS} AND y <= x % 3`,
      );
    for (let i = 0; i < PROCESSORS; i++)
      statements.push(`CREATE TABLE out.p${i} AS SELECT (DATE '2021-11-01' + x::INTEGER)::DATE AS d FROM range(${DAYS}) a(x) WHERE x <> ${(i + 1) % DAYS}`);
    await execSql(db, ...statements);
    const writer = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: false });
    await writer.close();
    // Ledger: every processor's present days (rows 1, built at 10,000 + i), with two fingerprints; P0's day 5 has rows 0 and no data.
    await execSql(
      db,
      ...processors.map(
        (p, i) =>
          `INSERT INTO _dag.partitions SELECT '${p.name}', d, 'run${i % 7}', epoch_ms(${10_000 + i}::BIGINT), 1, '${i % 2 === 0 ? 'even' : 'odd'}', 'x', 'out.p${i}' FROM out.p${i}`,
      ),
      `DELETE FROM out.p0 WHERE d = DATE '2021-11-06'`,
      `UPDATE _dag.partitions SET "rows" = 0 WHERE processor = 'P0' AND partition_date = DATE '2021-11-06'`,
    );
    const first = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: false });
    const before = await first.readSnapshot(pipeline, names);
    await first.recordSourceVersions(pipeline, before, 5_000);
    await first.close();
    await execSql(db, `UPDATE raw.s3 SET v = v + 10 WHERE d = DATE '2021-11-10'`);

    const reader = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: true });
    const snapshot = await reader.readSnapshot(pipeline, names);
    await reader.close();
    // columns, ledgered readers, inventories in groups (processors and sources apart), ledger (2), failures
    expect(snapshot.stats.queries).toBe(2 + Math.ceil(PROCESSORS / TABLES_PER_QUERY) + Math.ceil(SOURCES / TABLES_PER_QUERY) + 2 + 1);
    for (let i = 0; i < SOURCES; i++) {
      const partitions = snapshot.tables.get(`s${i}`)!.partitions;
      expect(partitions.size, `s${i}`).toBe(DAYS - 1);
      for (let x = 0; x < DAYS; x++) {
        const info = partitions.get(FIRST + x);
        if (x === i % DAYS) expect(info, `s${i} ${iso(FIRST + x)}`).toBeUndefined();
        else
          expect(info, `s${i} ${iso(FIRST + x)}`).toMatchObject({
            rows: (x % 3) + 1,
            changedAt: i === 3 && x === 9 ? Infinity : 5_000,
            version: expect.stringMatching(/^\d+\.\d+:\d$/),
          });
      }
    }
    for (let i = 0; i < PROCESSORS; i++) {
      const ledger = snapshot.ledger.get(`P${i}`)!;
      const partitions = snapshot.tables.get(`P${i}`)!.partitions;
      expect(ledger.size, `P${i}`).toBe(DAYS - 1);
      expect(partitions.size).toBe(i === 0 ? DAYS - 2 : DAYS - 1);
      const some = FIRST + ((i + 2) % DAYS);
      expect(ledger.get(some)).toEqual({
        runId: `run${i % 7}`,
        builtAt: 10_000 + i,
        rows: i === 0 && some === FIRST + 5 ? 0 : 1,
        codeFingerprint: i % 2 === 0 ? 'even' : 'odd',
      });
      expect(partitions.get(some)).toEqual({ rows: 1, version: `run${i % 7}`, changedAt: undefined });
      expect(ledger.get(FIRST + ((i + 1) % DAYS))).toBeUndefined();
    }
    expect(snapshot.ledger.get('P0')!.get(FIRST + 5)).toMatchObject({ rows: 0 });
    expect(snapshot.tables.get('P0')!.partitions.get(FIRST + 5)).toBeUndefined();
  }, 60_000);
});
