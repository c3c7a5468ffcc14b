/**
 * The BigQuery run lock (issue 12 finding 6, issue 11 item 3): the lock script sends a DELETE only to
 * take over a dead holder's row, a transaction conflict or rate limit inside the wait is retried (the
 * run waits instead of dying), and the lock row records the owner's command process groups, which a
 * takeover ends before it takes the lock.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BqServer } from './bq-server/server.js';
import { jobInserts, loadTestPipeline, openTestWarehouse, serverForFile } from './bigquery-helpers.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { groupAlive, processStartTime } from '../src/warehouse/process.js';

const files = serverForFile();
const dirs = files.dirs;
let server: BqServer;
let warehouse: Warehouse;
beforeEach(async () => {
  server = files.server();
  await server.exec('DROP SCHEMA IF EXISTS `test-project._dag` CASCADE');
  server.log.length = 0;
  server.faults.length = 0;
  const { pipeline, dir } = await loadTestPipeline(server);
  dirs.push(dir);
  warehouse = await openTestWarehouse(pipeline);
});
afterEach(async () => {
  await warehouse.close();
});

const owner = (runId: string, pid = process.pid) => ({ runId, pid, host: hostname(), since: Date.now(), commandLine: `dag run ${runId}` });
const lockScripts = () => jobInserts(server.log).filter((j) => j.query.includes('INSERT INTO `test-project._dag.locks`'));

describe('BigQuery run lock', () => {
  it('takes a free lock with one INSERT and no DELETE; a DELETE only when taking over a dead holder', async () => {
    expect(await warehouse.acquireLock(owner('run-a'), 0)).toEqual({ ok: true });
    expect(lockScripts()).toHaveLength(1);
    expect(lockScripts()[0]?.query).not.toMatch(/DELETE|BEGIN TRANSACTION/);
    await warehouse.releaseLock(owner('run-a'));
    const dead = owner('run-dead', 2 ** 22 + 12345);
    expect(await warehouse.acquireLock(dead, 0)).toEqual({ ok: true });
    server.log.length = 0;
    expect(await warehouse.acquireLock(owner('run-b'), 0)).toEqual({ ok: true });
    const scripts = lockScripts().map((j) => j.query);
    expect(scripts).toHaveLength(2);
    expect(scripts[0]).not.toMatch(/DELETE/);
    expect(scripts[1]).toMatch(/BEGIN TRANSACTION;\nDELETE FROM `test-project._dag.locks` WHERE target = @target AND run_id = @takeover_run_id;/);
  });

  it('a transaction conflict on the lock script is retried with jitter: the run takes the lock instead of dying', async () => {
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 }); // ledger DDL
    const message = 'Transaction is aborted due to concurrent update against table test-project:_dag.locks';
    server.faults.push({ kind: 'jobError', sql: /INSERT INTO `test-project\._dag\.locks`/, reason: 'invalidQuery', message, times: 2 });
    expect(await warehouse.acquireLock(owner('run-a'), 0)).toEqual({ ok: true });
    expect(lockScripts()).toHaveLength(3);
  });

  it('two runs starting together: one holds the lock, the other is told who holds it; neither throws', async () => {
    const other = await openTestWarehouse((await loadTestPipeline(server)).pipeline);
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 });
    const [a, b] = await Promise.all([warehouse.acquireLock(owner('run-a'), 0), other.acquireLock(owner('run-b'), 0)]);
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    await other.close();
  });

  it("records the command groups in the lock row; a takeover ends a dead holder's surviving commands first", async () => {
    const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pgid = child.pid ?? 0;
    try {
      const group = { pgid, start: processStartTime(pgid) ?? '' };
      const dead = owner('run-dead', 2 ** 22 + 12345);
      expect(await warehouse.acquireLock(dead, 0)).toEqual({ ok: true });
      await warehouse.recordCommandGroups(dead, [group]);
      const row = await server.exec("SELECT command_groups FROM `test-project._dag.locks` WHERE run_id = 'run-dead'");
      expect(JSON.parse(String(row.rows[0]?.[0]))).toEqual([group]);
      expect(groupAlive(pgid)).toBe(true);
      expect(await warehouse.acquireLock(owner('run-b'), 0)).toEqual({ ok: true });
      expect(groupAlive(pgid)).toBe(false);
      const holders = await server.exec('SELECT run_id FROM `test-project._dag.locks`');
      expect(holders.rows).toEqual([['run-b']]);
    } finally {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already ended
      }
    }
  });

  it('a ledger whose locks table predates the process columns gets them before the first lock', async () => {
    await server.exec(
      'CREATE SCHEMA `test-project._dag`; CREATE TABLE `test-project._dag.locks` (target STRING, run_id STRING, pid INT64, host STRING, since TIMESTAMP, command_line STRING)',
    );
    await server.exec("CREATE TABLE `test-project._dag.meta` (key STRING, value STRING); INSERT INTO `test-project._dag.meta` VALUES ('schema_version', '2')");
    await server.exec(
      'CREATE TABLE `test-project._dag.partitions` (processor STRING, partition_date DATE, run_id STRING, built_at TIMESTAMP, row_count INT64, code_fingerprint STRING, input_fingerprint STRING, table_name STRING)',
    );
    await server.exec(
      'CREATE TABLE `test-project._dag.runs` (run_id STRING, command_line STRING, target STRING, started_at TIMESTAMP, ended_at TIMESTAMP, outcome STRING, recorded_at TIMESTAMP)',
    );
    await server.exec(
      'CREATE TABLE `test-project._dag.failures` (run_id STRING, processor STRING, partition_date DATE, category STRING, message STRING, attempt INT64, failed_at TIMESTAMP)',
    );
    expect(await warehouse.acquireLock(owner('run-a'), 0)).toEqual({ ok: true });
    const columns = await server.exec(
      "SELECT column_name FROM `test-project._dag.INFORMATION_SCHEMA.COLUMNS` WHERE table_name = 'locks' ORDER BY ordinal_position",
    );
    expect(columns.rows.map((r) => r[0])).toEqual(['target', 'run_id', 'pid', 'host', 'since', 'command_line', 'process_start', 'command_groups']);
  });
});
