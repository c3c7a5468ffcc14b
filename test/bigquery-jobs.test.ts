/**
 * Job ids and re-attachment (issue 12 finding 3): every job of a batch attempt has a deterministic id,
 * and a request that failed without an answer (the connection dropped after BigQuery accepted the
 * insert, or during a poll) is resolved by finding that job, never by starting a second one: the
 * SELECT runs and bills once, and no two transactions abort each other.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BqServer } from './bq-server/server.js';
import { batchJob, jobInserts, loadTestPipeline, openTestWarehouse, seedGames, serverForFile } from './bigquery-helpers.js';
import { runDag } from './support/cli.js';
import { sqlBatch } from './support/batches.js';
import { jobIdFor } from '../src/warehouse/bigquery/jobs.js';

const files = serverForFile();
const dirs = files.dirs;
let server: BqServer;
beforeEach(async () => {
  server = files.server();
  await server.exec(
    'DROP SCHEMA IF EXISTS `test-project.raw` CASCADE; DROP SCHEMA IF EXISTS `test-project.derived` CASCADE; DROP SCHEMA IF EXISTS `test-project._dag` CASCADE',
  );
  await server.exec('DELETE FROM __bq.partition_state WHERE TRUE; DELETE FROM __bq.partitioning WHERE TRUE');
  server.log.length = 0;
  server.faults.length = 0;
  jobsBefore = server.jobs().length;
});

const never = new AbortController().signal;
let jobsBefore = 0;
/** The batch scripts this test started (server.jobs() spans the file). */
const batchJobs = () =>
  server
    .jobs()
    .slice(jobsBefore)
    .filter((j) => JSON.stringify(j.configuration).includes('_dag_rows'));

describe('BigQuery job ids', () => {
  it('are letters, digits, _ and - only, at most 1,024 characters, and keep sanitized names apart', () => {
    const id = jobIdFor(['20261202T000000Z-ab12', 'PDC', '20211101', '20211130', 1, 'batch']);
    expect(id).toBe('dag_20261202T000000Z-ab12_PDC_20211101_20211130_1_batch');
    const dotted = jobIdFor(['r', 'a.b', 1]);
    expect(dotted).toMatch(/^dag_r_a_b_1_[0-9a-f]{8}$/);
    expect(dotted).not.toBe(jobIdFor(['r', 'a_b', 1]));
    const long = jobIdFor(['r', 'x'.repeat(2000)]);
    expect(long.length).toBeLessThanOrEqual(1024);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('a connection dropped after the insert was accepted re-attaches to that job: one job, one SELECT billed', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    const { pipeline, dir } = await loadTestPipeline(server);
    dirs.push(dir);
    const warehouse = await openTestWarehouse(pipeline);
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 }); // ledger DDL out of the way
    server.log.length = 0;
    server.faults.push({ kind: 'drop', method: 'POST', path: /\/jobs$/, sql: /_dag_rows/ });
    const job = { ...batchJob(pipeline, 'DOUBLED', ['2021-11-01', '2021-11-02']), attempt: 1 };
    const outcome = await sqlBatch(warehouse, job, never);
    expect(outcome).toMatchObject({ ok: true });
    expect(batchJobs()).toHaveLength(1);
    expect(batchJobs()[0]?.id).toBe('dag_run-1_DOUBLED_20211101_20211102_1_batch');
    expect(server.log.some((r) => r.method === 'GET' && r.path.endsWith('/jobs/dag_run-1_DOUBLED_20211101_20211102_1_batch'))).toBe(true);
    const rows = await server.exec('SELECT count(*) FROM `test-project.derived.doubled`');
    expect(rows.rows[0]?.[0]).toBe('4');
    await warehouse.close();
  });

  it('a poll whose connection drops keeps waiting for the same job', async () => {
    await seedGames(server, ['2021-11-01']);
    const { pipeline, dir } = await loadTestPipeline(server);
    dirs.push(dir);
    const warehouse = await openTestWarehouse(pipeline);
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 });
    server.faults.push({ kind: 'slow', sql: /_dag_rows/, ms: 300 });
    server.faults.push({ kind: 'drop', method: 'GET', path: /\/queries\/dag_/, times: 2 });
    const outcome = await sqlBatch(warehouse, { ...batchJob(pipeline, 'DOUBLED', ['2021-11-01']), attempt: 1 }, never);
    expect(outcome).toMatchObject({ ok: true });
    expect(batchJobs()).toHaveLength(1);
    await warehouse.close();
  });

  it('through dag run: a dropped insert is one job per batch and the run succeeds', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    const { dir } = await loadTestPipeline(server);
    dirs.push(dir);
    server.faults.push({ kind: 'drop', method: 'POST', path: /\/jobs$/, sql: /_dag_rows/ });
    const result = await runDag(['run', '--range', '2021-11-01..2021-11-02', '--select', 'DOUBLED'], { cwd: dir, env: { METADATA_SERVER_DETECTION: 'none' } });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(batchJobs()).toHaveLength(1);
    expect(batchJobs()[0]?.id).toMatch(/^dag_.+_DOUBLED_20211101_20211102_1_batch$/);
    expect(jobInserts(server.log).filter((j) => j.query.includes('_dag_rows'))).toHaveLength(1);
  });
});
