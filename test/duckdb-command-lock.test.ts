import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIsoDate, type Day } from '../src/core/dates.js';
import type { LockOwner, RunRecord, Warehouse } from '../src/warehouse/port.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { projectRoot, tempProject } from './support/cli.js';
import { createTable, duckdbTarget, queryRows } from './support/duckdb.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { commandBatch, type TestJob, type TestSpawner } from './support/batches.js';

const day = (iso: string): Day => parseIsoDate(iso) ?? Number.NaN;
const opened: Warehouse[] = [];
afterEach(async () => {
  for (const warehouse of opened.splice(0)) await warehouse.close();
});

async function open(dbPath: string): Promise<Warehouse> {
  const warehouse = await openDuckdb(duckdbTarget(dbPath), { env: {}, readOnly: false });
  opened.push(warehouse);
  return warehouse;
}

/** A child `node` process that opens the file itself (as a user's command would) and inserts rows. */
const CHILD = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  await c.run("ATTACH '" + process.env.DAG_DUCKDB_PATH + "' AS db");
  const [schema, table] = process.env.DAG_TABLE.split('.');
  const col = process.env.DAG_PARTITION_COLUMN;
  await c.run('CREATE SCHEMA IF NOT EXISTS db.' + schema);
  await c.run('CREATE TABLE IF NOT EXISTS db.' + schema + '.' + table + ' (' + col + ' DATE, v INTEGER)');
  await c.run('INSERT INTO db.' + schema + '.' + table + " VALUES (DATE '2021-11-01', 1), (DATE '2021-11-01', 2), (DATE '2021-11-03', 3)");
  console.log(process.env.DAG_DUCKDB_SCHEMAS);
  c.disconnectSync(); instance.closeSync();
})().catch((e) => { console.error(e.message); process.exit(3); });`;

function nodeSpawner(script: string, seen: Record<string, string>[]): TestSpawner {
  return (env, signal) =>
    new Promise((resolve) => {
      seen.push({ ...env });
      const child = spawn(process.execPath, ['-e', script], { cwd: projectRoot, env: { ...process.env, ...env }, signal, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', () => resolve({ category: 'CANCELLED', message: 'aborted' }));
      child.on('close', (code) => resolve(code === 0 ? undefined : { category: 'PROCESSOR_ERROR', message: `exit ${code}: ${stderr.trim()}` }));
    });
}

function commandJob(dbPath: string, allowEmpty: boolean): TestJob {
  const p = { ...sqlProcessor('M', 'pred.m', ''), action: { kind: 'command' as const, argv: ['node'] }, allowEmpty };
  const batchDays = [day('2021-11-01'), day('2021-11-02'), day('2021-11-03')];
  return {
    pipeline: pipelineOf(dbPath, [source('box', 'raw.box'), p]),
    processor: p,
    batch: { start: batchDays[0] ?? 0, end: batchDays[2] ?? 0, days: batchDays },
    runId: 'run-c',
    builtAt: 5000,
    codeFingerprint: 'cmd',
    inputFingerprints: new Map(),
  };
}

describe('duckdb runCommandBatch', () => {
  it('closes the file for a real child process that writes rows, then records the present partitions', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    await createTable(dbPath, 'raw.box', 'game_date', { '2021-11-01': 1 });
    const warehouse = await open(dbPath);
    const seen: Record<string, string>[] = [];
    const outcome = await commandBatch(warehouse, commandJob(dbPath, false), nodeSpawner(CHILD, seen), new AbortController().signal);
    expect(outcome).toEqual({
      ok: true,
      rows: new Map([
        [day('2021-11-01'), 2],
        [day('2021-11-03'), 1],
      ]),
      absent: [day('2021-11-02')],
    });
    expect(seen[0]).toMatchObject({ DAG_DUCKDB_PATH: dbPath, DAG_TABLE: 'pred.m', DAG_PARTITION_COLUMN: 'game_date' });
    expect(seen[0]?.DAG_DUCKDB_SCHEMAS?.split(',')).toContain('raw');
    // The adapter reopened the file and still works.
    const snapshot = await warehouse.readSnapshot(commandJob(dbPath, false).pipeline, ['M']);
    expect([...(snapshot.ledger.get('M')?.keys() ?? [])].sort()).toEqual([day('2021-11-01'), day('2021-11-03')]);

    const allowEmpty = await commandBatch(warehouse, commandJob(dbPath, true), nodeSpawner(CHILD, seen), new AbortController().signal);
    expect(allowEmpty.ok && allowEmpty.absent).toEqual([]);
    expect(allowEmpty.ok && allowEmpty.rows.get(day('2021-11-02'))).toBe(0);
  }, 30_000);

  it('returns the spawner failure as is', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    const warehouse = await open(dbPath);
    const outcome = await commandBatch(warehouse, commandJob(dbPath, false), nodeSpawner('process.exit(4)', []), new AbortController().signal);
    expect(outcome).toEqual({ ok: false, failure: { category: 'PROCESSOR_ERROR', message: 'exit 4: ' } });
    await warehouse.recordRun({ runId: 'r', commandLine: 'dag run', target: 'dev', startedAt: 1 });
  }, 30_000);
});

describe('duckdb runs and failures', () => {
  it('records a run at start and updates it at the end; failures are listed', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    const warehouse = await open(dbPath);
    const run: RunRecord = { runId: 'r1', commandLine: "dag run --range '2021-11-01'", target: 'dev', startedAt: 1000 };
    await warehouse.recordRun(run);
    await warehouse.recordFailures([{ runId: 'r1', processor: 'P', day: day('2021-11-02'), category: 'TIMEOUT', message: "it's slow", attempt: 2, at: 1500 }]);
    await warehouse.recordRun({ ...run, endedAt: 2000, outcome: 'failed' });
    await warehouse.close();
    opened.pop();
    expect(await queryRows(dbPath, `SELECT run_id, command_line, epoch_ms(started_at) AS s, epoch_ms(ended_at) AS e, outcome FROM _dag.runs`)).toEqual([
      { run_id: 'r1', command_line: "dag run --range '2021-11-01'", s: '1000', e: '2000', outcome: 'failed' },
    ]);
    expect(await queryRows(dbPath, `SELECT processor, partition_date::VARCHAR AS d, category, message, attempt FROM _dag.failures`)).toEqual([
      { processor: 'P', d: '2021-11-02', category: 'TIMEOUT', message: "it's slow", attempt: 2 },
    ]);
  });
});

describe('duckdb target lock', () => {
  const owner = (runId: string, pid = process.pid): LockOwner => ({ runId, pid, host: hostname(), since: 1234, commandLine: 'dag run' });

  it('lets one owner in, reports the holder to the next, and frees on release', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    const warehouse = await open(dbPath);
    expect(await warehouse.acquireLock(owner('a'), 0)).toEqual({ ok: true });
    expect(JSON.parse(readFileSync(`${dbPath}.lock`, 'utf8'))).toMatchObject({ runId: 'a', pid: process.pid });
    expect(await warehouse.acquireLock(owner('b'), 150)).toEqual({ ok: false, holder: owner('a') });
    await warehouse.releaseLock(owner('b'));
    expect(existsSync(`${dbPath}.lock`)).toBe(true);
    const waiting = warehouse.acquireLock(owner('b'), 10_000);
    setTimeout(() => void warehouse.releaseLock(owner('a')), 200);
    expect(await waiting).toEqual({ ok: true });
  });

  it('takes over a lock whose owner process is dead, exactly once among contenders', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dbPath}.lock`, JSON.stringify(owner('ghost', Number(dead.stdout))));
    const warehouse = await open(dbPath);
    const results = await Promise.all([warehouse.acquireLock(owner('x'), 0), warehouse.acquireLock(owner('y'), 0), warehouse.acquireLock(owner('z'), 0)]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    const holder = JSON.parse(readFileSync(`${dbPath}.lock`, 'utf8')) as LockOwner;
    expect(['x', 'y', 'z']).toContain(holder.runId);
    for (const result of results) if (!result.ok) expect(result.holder.runId).toBe(holder.runId);
  });

  it('respects a lock held by a live process on another host', async () => {
    const dbPath = join(tempProject(), 'w.duckdb');
    writeFileSync(`${dbPath}.lock`, JSON.stringify({ ...owner('remote', 999_999), host: 'elsewhere' }));
    const warehouse = await open(dbPath);
    const result = await warehouse.acquireLock(owner('me'), 0);
    expect(!result.ok && result.holder.host).toBe('elsewhere');
  });
});
