/**
 * A read-only snapshot of many processor tables reads their inventories in a bounded buffer pool
 * (issue 15: 2,000 small tables kept 500 MB of blocks in freshly faulted memory): the plan's facts are
 * the same as an unbounded read's, both settings are put back, nothing spills beside the project, and
 * a group that needs more memory than the bound is read again unbounded instead of failing.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../src/core/model.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { OpenDatabase } from '../src/warehouse/duckdb/connection.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { BOUNDED_FROM_TABLES, readDuckdbSnapshot } from '../src/warehouse/duckdb/snapshot.js';
import { tempProject } from './support/cli.js';
import { duckdbTarget, execSql } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { day } from './support/pipeline-builder.js';

const PROCESSORS = BOUNDED_FROM_TABLES + 4;
const DAYS = 20;

const dirs: string[] = [];
let dir = '';
let db = '';
let pipeline: Pipeline;
let names: string[] = [];

beforeAll(async () => {
  dir = tempProject({}, 'dag-bounded-');
  dirs.push(dir);
  db = join(dir, 'w.duckdb');
  const nodes = [
    source('s', 'raw.s', 'd'),
    ...Array.from({ length: PROCESSORS }, (_, i) =>
      sqlProcessor(`P${i}`, `out.p${i}`, 'SELECT 1', {
        partitionColumn: 'd',
        upstream: [{ name: i === 0 ? 's' : `P${i - 1}`, mapping: { kind: 'same' } as const }],
      }),
    ),
  ];
  pipeline = pipelineOf(db, nodes);
  names = nodes.map((node) => node.name);
  await execSql(
    db,
    'CREATE SCHEMA IF NOT EXISTS raw',
    'CREATE SCHEMA IF NOT EXISTS out',
    `CREATE TABLE raw.s AS SELECT (DATE '2021-11-01' + x::INTEGER)::DATE AS d FROM range(${DAYS}) a(x)`,
    // Processor i: every day but day i % DAYS, with (x % 4) + 1 rows a day.
    ...Array.from(
      { length: PROCESSORS },
      (_, i) =>
        `CREATE TABLE out.p${i} AS SELECT (DATE '2021-11-01' + x::INTEGER)::DATE AS d, y AS v FROM range(${DAYS}) a(x), range(4) b(y) WHERE x <> ${i % DAYS} AND y <= x % 4`,
    ),
  );
  const writer = await openDuckdb(duckdbTarget(db), { env: {}, readOnly: false });
  await writer.close();
  await execSql(
    db,
    ...Array.from(
      { length: PROCESSORS },
      (_, i) => `INSERT INTO _dag.partitions SELECT 'P${i}', d, 'run1', epoch_ms(1000), count(*), 'code', 'x', 'out.p${i}' FROM out.p${i} GROUP BY d`,
    ),
  );
}, 120_000);

afterAll(() => {
  for (const folder of dirs) rmSync(folder, { recursive: true, force: true });
});

/** Every fact of the snapshot a plan reads, as plain data. */
function facts(snapshot: Snapshot): unknown {
  return names.map((name) => ({
    name,
    partitions: [...(snapshot.tables.get(name)?.partitions ?? new Map())],
    ledger: [...(snapshot.ledger.get(name) ?? new Map())],
  }));
}

async function snapshotOf(readOnly: boolean, onStatement?: (sql: string) => void): Promise<Snapshot> {
  const warehouse = await openDuckdb(duckdbTarget(db), { env: {}, readOnly, ...(onStatement ? { onStatement } : {}) });
  try {
    return await warehouse.readSnapshot(pipeline, names);
  } finally {
    await warehouse.close();
  }
}

describe('bounded inventory reads', () => {
  it('read-only: the same facts as an unbounded read, the settings put back, nothing spilled', async () => {
    const cwd = process.cwd();
    process.chdir(dir); // DuckDB would spill into `.tmp` in the working directory
    try {
      const statements: string[] = [];
      const bounded = await snapshotOf(true, (sql) => statements.push(sql));
      const unbounded = await snapshotOf(false);
      expect(facts(bounded)).toEqual(facts(unbounded));
      const p7 = bounded.tables.get('P7')!.partitions;
      expect(p7.size).toBe(DAYS - 1);
      expect(p7.get(day('2021-11-03'))?.rows).toBe(3);
      expect(p7.get(day('2021-11-08'))).toBeUndefined();

      const bound = statements.indexOf(`SET memory_limit = '64MB'`);
      expect(bound, statements.slice(0, 12).join('\n')).toBeGreaterThan(0);
      expect(statements[bound - 1]).toBe(`SET temp_directory = ''`);
      // Every processor inventory inside the bound, and the ledger's rows beside them (a small ledger).
      const restore = statements.findIndex((sql, i) => i > bound && sql.startsWith('SET memory_limit'));
      const inventories = statements.flatMap((sql, i) => (sql.includes('FROM "dag_target"."out"."p') ? [i] : []));
      expect(inventories.length).toBe(Math.ceil(PROCESSORS / 64));
      const ledgerRows = statements.findIndex((sql) => sql.includes('epoch_ms(p.built_at)'));
      for (const at of [...inventories, ledgerRows]) expect(at > bound && at < restore, `statement ${at}`).toBe(true);
      expect(statements[restore]).not.toBe(`SET memory_limit = '64MB'`);
      expect(statements[restore + 1]).toMatch(/^SET temp_directory = '.+'$/);
      expect(existsSync(join(dir, '.tmp'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);

  it('a group that runs out of memory under the bound is read again unbounded, not reported unreadable', async () => {
    const expected = facts(await snapshotOf(false));
    const open = await OpenDatabase.open(db, true);
    const pool = [await open.connect(), await open.connect()];
    try {
      const reader = {
        main: open.main,
        pool,
        ledgerSchema: '_dag',
        targetName: 'dev',
        byTable: true,
        unreadable: 'report' as const,
        // Far below one table's block: every bounded query fails for memory.
        bounded: <T>(work: () => Promise<T>) => open.bounded('256KB', work),
      };
      const snapshot = await readDuckdbSnapshot(reader, pipeline, names);
      expect(snapshot.unreadable).toBeUndefined();
      expect(facts(snapshot)).toEqual(expected);
      // Each bounded read ran twice: the inventory groups, and the ledger's three queries (a small
      // ledger is read inside the bound too). The query count says so.
      const groups = Math.ceil(PROCESSORS / 64);
      const plain = await snapshotOf(false);
      expect(snapshot.stats.queries).toBe(plain.stats.queries + groups + 3);
      const [[limit], [temp]] = (await open.main.columns(`SELECT current_setting('memory_limit'), current_setting('temp_directory')`)) as [[string], [string]];
      expect(limit).not.toBe('256.0 KiB');
      expect(temp).not.toBe('');
    } finally {
      for (const connection of pool) connection.close();
      open.close();
    }
  }, 60_000);
});
