/**
 * Issue 12, findings 2, 5 and 8, each through the strict loopback server (test/bq-server): a MONTH-
 * partitioned table is refused (its YYYYMM ids made it look empty), batch_size above BigQuery's 4,000
 * partitions per job and labels BigQuery refuses are validate errors with their position, the job
 * reasons BigQuery calls retryable are TRANSIENT, and rows a command streamed are waited for (bounded)
 * instead of being recorded as absent days.
 */
import { describe, expect, it } from 'vitest';
import { BigQuery } from '@google-cloud/bigquery';
import { batchJob, day, PIPELINE_YAML, seedGames, serverPerFile } from './bigquery-helpers.js';
import { readPartitions } from '../src/warehouse/bigquery/batch.js';
import { commandBatch, sqlBatch } from './support/batches.js';
import { runDag, tempProject } from './support/cli.js';

const t = serverPerFile();
const never = new AbortController().signal;

describe('finding 2: non-DAY partitioning', () => {
  it('refuses a MONTH-partitioned table, naming it, the granularity and the way out', async () => {
    await t.server.exec(`CREATE SCHEMA \`test-project.raw\`; CREATE TABLE \`test-project.raw.games\` (game_date DATE, team STRING, points INT64) PARTITION BY DATE_TRUNC(game_date, MONTH);
      INSERT INTO \`test-project.raw.games\` VALUES (DATE '2021-11-01', 'A', 1), (DATE '2021-11-02', 'B', 2)`);
    await expect(t.warehouse.readSnapshot(t.pipeline, ['games'])).rejects.toThrow(
      /games \(raw\.games\) is MONTH-partitioned on game_date; .*recreate it DAY-partitioned/,
    );
  });

  it('refuses an empty YEAR-partitioned table too (from its DDL: no partition id to tell)', async () => {
    await t.server.exec(
      'CREATE SCHEMA `test-project.raw`; CREATE TABLE `test-project.raw.games` (game_date DATE, team STRING, points INT64) PARTITION BY DATE_TRUNC(game_date, YEAR)',
    );
    await expect(t.warehouse.readSnapshot(t.pipeline, ['games'])).rejects.toThrow(/games \(raw\.games\) is YEAR-partitioned/);
  });
});

describe('finding 5 and 8: what BigQuery rejects on every job is a validate error', () => {
  it('batch_size above 4,000 with a BigQuery target, and bad or reserved label keys and values, each at its line and column', async () => {
    const yaml = PIPELINE_YAML(t.server.url)
      .replace('labels: { team: data }', 'labels: { Team: data, owner: "Data Team", dag_run_id: x, ok-key: "" }')
      .replace('defaults: { partition_column: game_date, batch_size: 31,', 'defaults: { partition_column: game_date, batch_size: 5000,');
    const dir = tempProject({ 'pipeline.yaml': yaml, 'sql/doubled.sql': 'SELECT 1', 'sql/summed.sql': 'SELECT 1' });
    const r = await runDag(['validate'], { cwd: dir });
    expect(r.code).not.toBe(0);
    const lines = r.stdout.split('\n');
    const at = (pattern: RegExp) => lines.find((l) => pattern.test(l)) ?? '';
    expect(at(/batch-size-too-large/)).toMatch(
      /^pipeline\.yaml:6:54 error batch-size-too-large defaults: batch_size 5000 is more than the 4,000 partitions one BigQuery job may modify \(target bq\)/,
    );
    expect(at(/label key 'Team'/)).toMatch(/^pipeline\.yaml:4:\d+ error invalid-label/);
    expect(at(/'Data Team'/)).toMatch(/^pipeline\.yaml:4:\d+ error invalid-label target bq: label owner has the value 'Data Team'/);
    expect(at(/dag_run_id is one dag sets/)).toMatch(/^pipeline\.yaml:4:\d+ error invalid-label/);
    expect(r.stdout).not.toMatch(/ok-key/);
    expect(r.stdout).toMatch(/e\.g\. data_team/);
  });

  it('a DuckDB-only pipeline may keep a batch_size above 4,000', async () => {
    const dir = tempProject({ 'pipeline.yaml': 'version: 1\nname: x\ndefaults: { batch_size: 5000 }\nsources:\n  s: { table: raw.s }\n' });
    const r = await runDag(['validate'], { cwd: dir });
    expect(r.stdout).not.toMatch(/batch-size-too-large/);
  });
});

describe('finding 8: retryable job errors', () => {
  it('jobBackendError and "Retrying the job may solve the problem" are TRANSIENT', async () => {
    await seedGames(t.server, ['2021-11-01']);
    await t.warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 });
    const job = batchJob(t.pipeline, 'DOUBLED', ['2021-11-01']);
    t.server.faults.push({ kind: 'jobError', sql: /BEGIN TRANSACTION/, reason: 'jobBackendError', message: 'The job encountered an error during execution.' });
    expect(await sqlBatch(t.warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    t.server.faults.push({
      kind: 'jobError',
      sql: /BEGIN TRANSACTION/,
      reason: 'invalidQuery',
      message: 'An internal error occurred and the request could not be completed. Retrying the job may solve the problem.',
    });
    expect(await sqlBatch(t.warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    t.server.faults.push({ kind: 'jobError', sql: /BEGIN TRANSACTION/, reason: 'invalidQuery', message: 'Division by zero: 1 / 0' });
    expect(await sqlBatch(t.warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'PROCESSOR_ERROR' } });
  });
});

describe('finding 8: rows a command streams', () => {
  const streamInto = async (rows: { game_date: string; n: number }[]) => {
    await t.server.exec(
      'CREATE SCHEMA IF NOT EXISTS `test-project.other`; CREATE TABLE IF NOT EXISTS `test-project.other.external` (game_date DATE, n INT64) PARTITION BY game_date',
    );
    await new BigQuery({ projectId: 'test-project', apiEndpoint: t.server.url }).dataset('other').table('external').insert(rows);
  };

  it('waits for the streaming buffer to empty, then records the days the rows belong to', async () => {
    const outcome = await commandBatch(
      t.warehouse,
      batchJob(t.pipeline, 'EXTERNAL', ['2021-11-01', '2021-11-02']),
      async () => {
        await streamInto([
          { game_date: '2021-11-01', n: 1 },
          { game_date: '2021-11-02', n: 2 },
          { game_date: '2021-11-02', n: 3 },
        ]);
        setTimeout(() => void t.server.flushStreamingBuffer(), 500); // BigQuery extracts the buffer later
        return undefined;
      },
      never,
    );
    expect(outcome).toEqual({
      ok: true,
      rows: new Map([
        [day('2021-11-01'), 1],
        [day('2021-11-02'), 2],
      ]),
      absent: [],
    });
  });

  it('a buffer that stays past the bound fails the batch naming the table; no day is read as absent', async () => {
    await streamInto([{ game_date: '2021-11-01', n: 1 }]);
    const result = await readPartitions(
      new BigQuery({ projectId: 'test-project', apiEndpoint: t.server.url }),
      t.pipeline.targets.get('bq') as never,
      batchJob(t.pipeline, 'EXTERNAL', ['2021-11-01']),
      never,
      { totalMs: 300, everyMs: 100 },
    );
    expect(result).toMatchObject({
      ok: false,
      failure: {
        category: 'PROCESSOR_ERROR',
        message: expect.stringMatching(/1 row\(s\) in other\.external are still in BigQuery's streaming buffer .*__UNPARTITIONED__/),
      },
    });
  });
});
