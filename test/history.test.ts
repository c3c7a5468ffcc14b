/**
 * Warehouse.readRecentRuns on both adapters, one scenario: runs recorded at their start and end (a
 * run still open has neither end nor outcome), failures of several attempts; the newest runs come
 * first with only their failures, newest first, and a limit on failure rows says it cut. A target dag
 * never ran on has an empty history (DuckDB: no file, or a file without the ledger; BigQuery: no
 * ledger dataset), and reading it creates nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { day, loadTestPipeline, openTestWarehouse } from './bigquery-helpers.js';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { createTable, duckdbTarget } from './support/duckdb.js';

async function record(warehouse: Warehouse, target: string): Promise<void> {
  await warehouse.recordRun({ runId: 'r1', commandLine: 'run --range 2021-11-01..2021-11-02', target, startedAt: 1_000 });
  await warehouse.recordFailures([{ runId: 'r1', processor: 'DOUBLED', day: day('2021-11-01'), category: 'TIMEOUT', message: 'slow', attempt: 1, at: 1_500 }]);
  await warehouse.recordRun({ runId: 'r1', commandLine: 'run --range 2021-11-01..2021-11-02', target, startedAt: 1_000, endedAt: 2_000, outcome: 'success' });
  await warehouse.recordRun({ runId: 'r2', commandLine: 'run --range 2021-11-03', target, startedAt: 3_000 });
  await warehouse.recordFailures([
    { runId: 'r2', processor: 'DOUBLED', day: day('2021-11-03'), category: 'TRANSIENT', message: 'lock conflict', attempt: 1, at: 3_100 },
  ]);
  await warehouse.recordFailures([
    {
      runId: 'r2',
      processor: 'DOUBLED',
      day: day('2021-11-03'),
      category: 'PROCESSOR_ERROR',
      message: 'Conversion Error: boom\nLINE 1: ...',
      attempt: 2,
      at: 3_200,
    },
  ]);
  await warehouse.recordFailures([
    { runId: 'r2', processor: 'SUMMED', day: day('2021-11-03'), category: 'UPSTREAM_FAILED', message: 'reads DOUBLED 2021-11-03', attempt: 0, at: 3_300 },
  ]);
  await warehouse.recordRun({ runId: 'r2', commandLine: 'run --range 2021-11-03', target, startedAt: 3_000, endedAt: 5_000, outcome: 'failed' });
  await warehouse.recordRun({ runId: 'r3', commandLine: 'run --range 2021-11-04', target, startedAt: 6_000 });
}

async function expectHistory(warehouse: Warehouse, target: string): Promise<void> {
  const recent = await warehouse.readRecentRuns({ runs: 2, failures: 10 });
  expect(recent.runs).toEqual([
    { runId: 'r3', commandLine: 'run --range 2021-11-04', target, startedAt: 6_000 },
    { runId: 'r2', commandLine: 'run --range 2021-11-03', target, startedAt: 3_000, endedAt: 5_000, outcome: 'failed' },
  ]);
  expect(recent.failures.map((f) => [f.runId, f.processor, f.category, f.attempt, f.at])).toEqual([
    ['r2', 'SUMMED', 'UPSTREAM_FAILED', 0, 3_300],
    ['r2', 'DOUBLED', 'PROCESSOR_ERROR', 2, 3_200],
    ['r2', 'DOUBLED', 'TRANSIENT', 1, 3_100],
  ]);
  expect(recent.failures[1]).toEqual({
    runId: 'r2',
    processor: 'DOUBLED',
    day: day('2021-11-03'),
    category: 'PROCESSOR_ERROR',
    message: 'Conversion Error: boom\nLINE 1: ...',
    attempt: 2,
    at: 3_200,
  });
  expect(recent.failuresTruncated).toBe(false);
  const cut = await warehouse.readRecentRuns({ runs: 3, failures: 2 });
  expect(cut.runs.map((r) => r.runId)).toEqual(['r3', 'r2', 'r1']);
  expect(cut.runs[2]).toMatchObject({ endedAt: 2_000, outcome: 'success' });
  expect(cut.failures.map((f) => f.at)).toEqual([3_300, 3_200]);
  expect(cut.failuresTruncated).toBe(true);
}

const EMPTY = { runs: [], failures: [], failuresTruncated: false, checks: [], checksTruncated: false };

describe('readRecentRuns on DuckDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty where dag never ran: no file, or a file without the ledger', async () => {
    const missing = await openDuckdb(duckdbTarget(join(dir, 'none.duckdb')), { env: {}, readOnly: true });
    expect(await missing.readRecentRuns({ runs: 5, failures: 5 })).toEqual(EMPTY);
    await missing.close();
    const path = join(dir, 'other.duckdb');
    await createTable(path, 'raw.t', 'd', { '2021-11-01': 1 });
    const foreign = await openDuckdb(duckdbTarget(path), { env: {}, readOnly: true });
    expect(await foreign.readRecentRuns({ runs: 5, failures: 5 })).toEqual(EMPTY);
    await foreign.close();
  });

  it('lists the newest runs first with their failures, newest first', async () => {
    const path = join(dir, 'ledger.duckdb');
    const writer = await openDuckdb(duckdbTarget(path), { env: {}, readOnly: false });
    await record(writer, 'dev');
    await writer.close();
    const reader = await openDuckdb(duckdbTarget(path), { env: {}, readOnly: true });
    try {
      await expectHistory(reader, 'dev');
    } finally {
      await reader.close();
    }
  });
});

describe('readRecentRuns on BigQuery (loopback server)', () => {
  let server: BqServer;
  let warehouse: Warehouse;
  let projectDir = '';
  beforeAll(async () => {
    server = await startBqServer();
    const loaded = await loadTestPipeline(server);
    projectDir = loaded.dir;
    warehouse = await openTestWarehouse(loaded.pipeline);
  });
  afterAll(async () => {
    await warehouse.close();
    await server.close();
    rmSync(projectDir, { recursive: true, force: true });
  });

  it('is empty before any run (no ledger dataset), then lists runs and failures like DuckDB', async () => {
    expect(await warehouse.readRecentRuns({ runs: 5, failures: 5 })).toEqual(EMPTY);
    await record(warehouse, 'bq');
    await expectHistory(warehouse, 'bq');
  });
});
