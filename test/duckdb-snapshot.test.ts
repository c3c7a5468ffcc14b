import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import { WarehouseError } from '../src/warehouse/port.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { tempProject } from './support/cli.js';
import { createTable, duckdbTarget, execSql, updatePartitionContent } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';

const day = (iso: string): Day => parseIsoDate(iso) ?? Number.NaN;
const opened: Warehouse[] = [];
async function open(dbPath: string, readOnly = false): Promise<Warehouse> {
  const warehouse = await openDuckdb(duckdbTarget(dbPath), { env: {}, readOnly });
  opened.push(warehouse);
  return warehouse;
}
afterEach(async () => {
  for (const warehouse of opened.splice(0)) await warehouse.close();
});

describe('duckdb readSnapshot', () => {
  it('reads a file named like its schema (nba.duckdb holding schema nba)', async () => {
    const dbPath = join(tempProject(), 'nested', 'nba.duckdb');
    await createTable(dbPath, 'nba.schedule', 'game_date', { '2021-11-01': 2, '2021-11-03': 1, '2021-11-02': 0 });
    const pipeline = pipelineOf(dbPath, [source('schedule', 'nba.schedule')], 'schedule');
    const warehouse = await open(dbPath);
    const snapshot = await warehouse.readSnapshot(pipeline, ['schedule']);
    expect(snapshot.calendar).toEqual([day('2021-11-01'), day('2021-11-03')]);
    const schedule = snapshot.tables.get('schedule');
    expect(schedule?.exists).toBe(true);
    expect(schedule?.partitions.get(day('2021-11-01'))?.rows).toBe(2);
    expect(schedule?.partitions.get(day('2021-11-01'))?.changedAt).toBe(Infinity);
  });

  it('returns an empty warehouse for a missing file opened read-only, without creating it', async () => {
    const dbPath = join(tempProject(), 'never', 'made.duckdb');
    const pipeline = pipelineOf(dbPath, [source('schedule', 'raw.schedule'), sqlProcessor('P', 'out.p', 'SELECT 1')], 'schedule');
    const snapshot = await (await open(dbPath, true)).readSnapshot(pipeline, ['P']);
    expect(existsSync(dbPath)).toBe(false);
    expect(snapshot.calendar).toEqual([]);
    expect(snapshot.tables.get('P')?.exists).toBe(false);
    expect(snapshot.tables.get('schedule')?.exists).toBe(false);
    expect(snapshot.stats.queries).toBe(0);
  });

  it('creates the file, its folder and the ledger tables on first writable open', async () => {
    const dbPath = join(tempProject(), 'deep', 'er', 'w.duckdb');
    await (await open(dbPath)).close();
    const { queryRows } = await import('./support/duckdb.js');
    const rows = await queryRows(dbPath, `SELECT table_name FROM duckdb_tables() WHERE schema_name = '_dag' ORDER BY 1`);
    expect(rows.map((row) => row.table_name)).toEqual(['batches', 'checks', 'failures', 'meta', 'partitions', 'runs', 'source_versions']);
    expect(await queryRows(dbPath, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '3' }]);
  });

  it('counts one query per existing table plus constants, and reads ledger, versions and failures', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await createTable(dbPath, 'raw.box', 'game_date', { '2021-11-01': 3, '2021-11-02': 2 });
    await createTable(dbPath, 'out.p', 'game_date', { '2021-11-01': 1 });
    const readsBox = { upstream: [{ name: 'box', mapping: { kind: 'same' } as const }] };
    const pipeline = pipelineOf(dbPath, [
      source('box', 'raw.box'),
      sqlProcessor('P', 'out.p', 'SELECT 1', readsBox),
      sqlProcessor('Q', 'out.q', 'SELECT 1', readsBox),
    ]);
    const warehouse = await open(dbPath);
    await warehouse.close();
    opened.pop();
    await execSql(
      dbPath,
      `INSERT INTO _dag.partitions VALUES ('P', DATE '2021-11-01', 'r1', epoch_ms(1000::BIGINT), 1, 'c1', 'i1', 'out.p'), ('P', DATE '2021-11-02', 'r1', epoch_ms(1000::BIGINT), 0, 'c1', 'i2', 'out.p')`,
      `INSERT INTO _dag.failures VALUES ('r2', 'P', DATE '2021-11-02', 'PROCESSOR_ERROR', 'boom', 1, epoch_ms(2000::BIGINT)), ('r0', 'P', DATE '2021-11-01', 'TIMEOUT', 'old', 1, epoch_ms(500::BIGINT))`,
    );
    const again = await open(dbPath, true);
    const first = await again.readSnapshot(pipeline, ['box', 'P', 'Q']);
    // columns + the ledger's (name, table) groups + one inventory query for the existing processors (P;
    // Q absent) and one for the sources (box, versions compared in it) + ledger (fingerprints and run
    // ids, then rows) + failures
    expect(first.stats.queries).toBe(1 + 1 + 2 + 2 + 1);
    expect([...(first.columns?.keys() ?? [])].sort()).toEqual(['P', 'Q', 'box']);
    expect(first.pendingVersions).toEqual(new Set());
    expect(first.calendar).toBeUndefined();
    expect(first.tables.get('Q')).toEqual({ exists: false, partitions: new Map() });
    expect(first.ledger.get('P')?.get(day('2021-11-02'))).toEqual({ runId: 'r1', builtAt: 1000, rows: 0, codeFingerprint: 'c1' });
    expect(first.tables.get('P')?.partitions.get(day('2021-11-01'))?.changedAt).toBeUndefined();
    expect([...(first.failures.get('P') ?? new Map())]).toEqual([[day('2021-11-02'), 'PROCESSOR_ERROR']]);
    await again.close();
    opened.pop();

    const writer = await open(dbPath);
    await writer.recordSourceVersions(pipeline, first, 5000);
    const second = await writer.readSnapshot(pipeline, ['box', 'P']);
    const box = second.tables.get('box');
    expect(box?.partitions.get(day('2021-11-01'))?.changedAt).toBe(5000);
    await writer.close();
    opened.pop();

    await updatePartitionContent(dbPath, 'raw.box', 'game_date', '2021-11-02', `payload = 'changed'`);
    const third = await (await open(dbPath, true)).readSnapshot(pipeline, ['box', 'P']);
    const changed = third.tables.get('box');
    expect(changed?.partitions.get(day('2021-11-01'))?.changedAt).toBe(5000);
    expect(changed?.partitions.get(day('2021-11-02'))?.changedAt).toBe(Infinity);
    expect(changed?.partitions.get(day('2021-11-02'))?.rows).toBe(2);
    expect(changed?.partitions.get(day('2021-11-02'))?.version).not.toBe(box?.partitions.get(day('2021-11-02'))?.version);
  });

  it('leaves the versions of a source whose readers have no ledger entry to the run, which records the same versions', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await createTable(dbPath, 'raw.box', 'game_date', { '2021-11-01': 3, '2021-11-02': 2 });
    const readsBox = { upstream: [{ name: 'box', mapping: { kind: 'same' } as const }] };
    const pipeline = pipelineOf(dbPath, [
      source('box', 'raw.box'),
      sqlProcessor('P', 'out.p', 'SELECT 1', readsBox),
      sqlProcessor('Q', 'out.q', 'SELECT 1', readsBox),
    ]);
    const writer = await open(dbPath);
    // Only Q (never built) reads box here: no plan over these nodes needs box's versions.
    const pending = await writer.readSnapshot(pipeline, ['box', 'Q']);
    expect(pending.pendingVersions).toEqual(new Set(['box']));
    expect(pending.tables.get('box')?.partitions.get(day('2021-11-01'))).toEqual({ rows: 3, version: '', changedAt: Infinity });
    const recorded = await writer.recordSourceVersions(pipeline, pending, 7000);
    await writer.close();
    opened.pop();
    await execSql(dbPath, `INSERT INTO _dag.partitions VALUES ('P', DATE '2021-11-01', 'r1', epoch_ms(9000::BIGINT), 1, 'c1', 'i1', 'out.p')`);
    // With a ledgered reader the snapshot hashes box itself: same versions, recorded at 7000 by the run.
    const hashed = await (await open(dbPath, true)).readSnapshot(pipeline, ['box', 'P']);
    const box = hashed.tables.get('box');
    expect(hashed.pendingVersions).toEqual(new Set());
    expect(recorded.failed).toEqual(new Map());
    expect(recorded.versions.get('box')).toEqual(new Map([...(box?.partitions ?? [])].map(([d, info]) => [d, info.version])));
    expect(box?.partitions.get(day('2021-11-02'))?.version).toMatch(/^\d+\.\d+:2$/);
    expect([...(box?.partitions.values() ?? [])].map((info) => info.changedAt)).toEqual([7000, 7000]);
  });

  it('records a pending source in the background and stops hashing it when the run is cancelled', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await createTable(dbPath, 'raw.box', 'game_date', { '2021-11-01': 1 });
    // A source that would take hours to hash.
    await execSql(dbPath, `CREATE VIEW raw.endless AS SELECT DATE '2021-11-01' + (i % 3)::INTEGER AS game_date, i FROM range(10000000000) AS r(i)`);
    const readsEndless = { upstream: [{ name: 'endless', mapping: { kind: 'same' } as const }] };
    const pipeline = pipelineOf(dbPath, [source('endless', 'raw.endless'), sqlProcessor('P', 'out.p', 'SELECT 1', readsEndless)]);
    const writer = await open(dbPath);
    const snapshot = {
      calendar: undefined,
      tables: new Map([['endless', { exists: true, partitions: new Map() }]]),
      ledger: new Map(),
      failures: new Map(),
      pendingVersions: new Set(['endless']),
      stats: { queries: 0 },
    };
    const controller = new AbortController();
    const started = Date.now();
    const recording = writer.recordSourceVersions(pipeline, snapshot, 1000, controller.signal);
    setTimeout(() => controller.abort(), 200);
    await expect(recording).rejects.toThrow(/INTERRUPT/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('rejects a missing or non-DATE partition column with WarehouseError bad-table naming table and column', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await createTable(dbPath, 'raw.box', 'game_date', { '2021-11-01': 1 });
    await execSql(dbPath, `CREATE TABLE raw.ts AS SELECT TIMESTAMP '2021-11-01 10:00' AS game_date`);
    const missing = pipelineOf(dbPath, [source('box', 'raw.box', 'day')]);
    const warehouse = await open(dbPath, true);
    const error = await warehouse.readSnapshot(missing, ['box']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).kind).toBe('bad-table');
    expect((error as Error).message).toMatch(/raw\.box.*'day'/);
    const notDate = pipelineOf(dbPath, [source('ts', 'raw.ts')]);
    const error2 = await warehouse.readSnapshot(notDate, ['ts']).catch((e: unknown) => e);
    expect((error2 as Error).message).toMatch(/raw\.ts.*'game_date' is TIMESTAMP, not DATE/);
  });

  it('turns a file locked by another writer into a WarehouseError naming the file', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await open(dbPath);
    const { spawnSync } = await import('node:child_process');
    const script = `import('${join(process.cwd(), 'dist/warehouse/duckdb/index.js')}').then(async ({ openDuckdb }) => {
      try { await openDuckdb({ type: 'duckdb', name: 'dev', path: ${JSON.stringify(dbPath)}, ledgerSchema: '_dag' }, { env: {}, readOnly: true }); console.log('opened'); }
      catch (e) { console.log(e.name + ': ' + e.message); }
    })`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stdout.trim()).toBe(`WarehouseError: the DuckDB file ${dbPath} is locked by another process (PID ${process.pid})`);
  });
});
