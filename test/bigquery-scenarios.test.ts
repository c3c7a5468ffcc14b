/**
 * The same pipeline and the same source data on the embedded DuckDB target and on the bigquery target
 * (through the loopback server): plan → run → plan → change a source → plan → run must give the same
 * plans and the same built partitions on both. Library-level (planner + runner + adapters); the CLI
 * scenarios will join once `dag plan/run` land.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { makeCalendar } from '../src/core/calendar.js';
import { parseIsoDate } from '../src/core/dates.js';
import { inputFingerprint } from '../src/core/fingerprint.js';
import { processorInputs } from '../src/core/inputs.js';
import type { Pipeline } from '../src/core/model.js';
import { planToJson } from '../src/core/plan-json.js';
import { plan } from '../src/core/planner.js';
import { readClosure } from '../src/core/selection.js';
import { createBuildClock, runPlan, systemClock } from '../src/runner/index.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { DOUBLED_SQL, SUMMED_SQL } from './bigquery-helpers.js';
import { tempProject } from './support/cli.js';

let server: BqServer;
beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});

const DATES = ['2021-11-01', '2021-11-02', '2021-11-04', '2021-11-05'];
const RANGE = { start: parseIsoDate('2021-11-01') ?? 0, end: parseIsoDate('2021-11-05') ?? 0 };

function pipelineYaml(endpoint: string): string {
  return `version: 1
name: scen
targets:
  dev: { type: duckdb, path: scen.duckdb }
  bq: { type: bigquery, project: test-project, location: US, api_endpoint: "${endpoint}" }
default_target: dev
defaults: { partition_column: game_date, batch_size: 2, retries: 1 }
sources:
  games: { table: raw.games }
processors:
  DOUBLED: { table: derived.doubled, upstream: [games], sql: sql/doubled.sql }
  SUMMED: { table: derived.summed, upstream: { DOUBLED: same, games: { lookback: 1 } }, sql: sql/summed.sql }
`;
}

async function seedDuckdb(file: string, statements: string): Promise<void> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  await connection.run(statements);
  connection.closeSync();
  instance.closeSync();
}

const games = (points: number) => DATES.flatMap((d, i) => [`(DATE '${d}', 'A', ${points + i})`, `(DATE '${d}', 'B', ${points - i})`]).join(', ');

async function planOn(pipeline: Pipeline, warehouse: Warehouse) {
  const selection = pipeline.processors.map((p) => p.name);
  const snapshot = await warehouse.readSnapshot(pipeline, readClosure(pipeline, selection));
  return { snapshot, plan: plan({ pipeline, targetName: warehouse.targetName, range: RANGE, selection, snapshot, today: 30_000 }) };
}

async function runOn(pipeline: Pipeline, warehouse: Warehouse) {
  const { snapshot, plan: planned } = await planOn(pipeline, warehouse);
  const calendar = makeCalendar(snapshot.calendar);
  const result = await runPlan({
    pipeline,
    plan: planned,
    snapshot,
    warehouse,
    runId: `run-${Math.random().toString(36).slice(2)}`,
    commandLine: 'test',
    clock: createBuildClock(systemClock),
    inputsOf: (processor, day) => processorInputs(processor, day, calendar),
    inputFingerprint: (processor, day, live) => inputFingerprint(processor, day, live, calendar),
    commands: async () => ({ category: 'PROCESSOR_ERROR', message: 'no commands here' }),
    concurrency: 2,
    onEvent: () => undefined,
    signal: new AbortController().signal,
    backoffMs: () => 1,
  });
  return result;
}

/** The comparable part of a plan: statuses, actions, reasons, batches (no target name or timings). */
function comparable(p: ReturnType<typeof plan>) {
  const json = planToJson(p) as unknown as { processors: unknown[]; summary: unknown };
  return { processors: json.processors, summary: json.summary };
}

it('plans and runs alike on duckdb and on bigquery (through the loopback server)', async () => {
  const dir = tempProject({ 'pipeline.yaml': pipelineYaml(server.url), 'sql/doubled.sql': DOUBLED_SQL.replace(';', ''), 'sql/summed.sql': SUMMED_SQL });
  const loaded = await loadPipeline({ cwd: dir });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  const pipeline = loaded.pipeline;
  const create = 'CREATE SCHEMA raw; CREATE TABLE raw.games (game_date DATE, team VARCHAR, points BIGINT);';
  await seedDuckdb(join(dir, 'scen.duckdb'), `${create} INSERT INTO raw.games VALUES ${games(100)}`);
  await server.exec(
    `CREATE SCHEMA \`test-project.raw\`; CREATE TABLE \`test-project.raw.games\` (game_date DATE, team STRING, points INT64) PARTITION BY game_date; INSERT INTO \`test-project.raw.games\` VALUES ${games(100)}`,
  );
  let duck = await openWarehouse(pipeline, 'dev', { env: {}, readOnly: false });
  const bq = await openWarehouse(pipeline, 'bq', { env: {}, readOnly: false });
  try {
    // 1. Nothing built: 2021-11-03 is a source gap on both.
    const first = [await planOn(pipeline, duck), await planOn(pipeline, bq)];
    expect(comparable(first[1]!.plan)).toEqual(comparable(first[0]!.plan));
    expect(first[1]!.plan.summary.build).toBeGreaterThan(0);

    // 2. Run: same partitions built.
    const runs = [await runOn(pipeline, duck), await runOn(pipeline, bq)];
    expect(JSON.parse(JSON.stringify(runs[1]!.processors))).toEqual(JSON.parse(JSON.stringify(runs[0]!.processors)));

    // 3. Plan again: nothing left to build but what is blocked.
    const second = [await planOn(pipeline, duck), await planOn(pipeline, bq)];
    expect(comparable(second[1]!.plan)).toEqual(comparable(second[0]!.plan));
    expect(second[1]!.plan.summary.build).toBe(0);

    // 4. A source partition changes: the same partitions become stale on both.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await duck.close(); // one process may hold the DuckDB file at a time
    await seedDuckdb(join(dir, 'scen.duckdb'), "UPDATE raw.games SET points = points + 1 WHERE game_date = DATE '2021-11-02'");
    duck = await openWarehouse(pipeline, 'dev', { env: {}, readOnly: false });
    await server.exec("UPDATE `test-project.raw.games` SET points = points + 1 WHERE game_date = DATE '2021-11-02'");
    const third = [await planOn(pipeline, duck), await planOn(pipeline, bq)];
    expect(comparable(third[1]!.plan)).toEqual(comparable(third[0]!.plan));
    expect(third[1]!.plan.summary.stale).toBeGreaterThan(0);

    // 5. And rebuilding them gives equal data.
    await runOn(pipeline, duck);
    await runOn(pipeline, bq);
    const bqRows = await server.exec('SELECT CAST(game_date AS STRING), total FROM `test-project.derived.summed` ORDER BY 1');
    await duck.close();
    const instance = await DuckDBInstance.create(join(dir, 'scen.duckdb'));
    const connection = await instance.connect();
    const duckRows = (await connection.runAndReadAll('SELECT CAST(game_date AS VARCHAR), CAST(total AS VARCHAR) FROM derived.summed ORDER BY 1')).getRows();
    connection.closeSync();
    instance.closeSync();
    expect(bqRows.rows).toEqual(duckRows.map((r) => r.map(String)));
  } finally {
    await duck.close().catch(() => undefined);
    await bq.close();
  }
});

it('the runner retries BigQuery rate limits and 5xx, and does not retry invalidQuery', async () => {
  await server.exec(
    'DROP SCHEMA IF EXISTS `test-project.raw` CASCADE; DROP SCHEMA IF EXISTS `test-project.derived` CASCADE; DROP SCHEMA IF EXISTS `test-project._dag` CASCADE',
  );
  const dir = tempProject({ 'pipeline.yaml': pipelineYaml(server.url), 'sql/doubled.sql': DOUBLED_SQL, 'sql/summed.sql': 'SELEC broken' });
  const loaded = await loadPipeline({ cwd: dir });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  await server.exec(
    `CREATE SCHEMA \`test-project.raw\`; CREATE TABLE \`test-project.raw.games\` (game_date DATE, team STRING, points INT64) PARTITION BY game_date; INSERT INTO \`test-project.raw.games\` VALUES ${games(100)}`,
  );
  const bq = await openWarehouse(loaded.pipeline, 'bq', { env: {}, readOnly: false });
  // retries: 1 in the pipeline → each DOUBLED batch may fail once transiently and still succeed.
  // Each fault names its own batch (11-01..02 and 11-04..05), so neither batch meets two faults
  // whatever order the scheduler starts them in.
  server.faults.push({
    kind: 'http',
    method: 'POST',
    path: /\/jobs$/,
    sql: /BEGIN TRANSACTION;(\n|\\n)DELETE FROM `test-project\.derived\.doubled` WHERE `game_date` BETWEEN DATE '2021-11-01'/,
    status: 429,
    reason: 'rateLimitExceeded',
  });
  server.faults.push({
    kind: 'jobError',
    sql: /BEGIN TRANSACTION;(\n|\\n)DELETE FROM `test-project\.derived\.doubled` WHERE `game_date` BETWEEN DATE '2021-11-04'/,
    reason: 'backendError',
  });
  server.log.length = 0;
  const result = await runOn(loaded.pipeline, bq);
  expect(server.faults).toEqual([]); // both faults met their batch
  const doubled = result.processors.find((p) => p.name === 'DOUBLED');
  const summed = result.processors.find((p) => p.name === 'SUMMED');
  expect(doubled?.built).toHaveLength(4);
  expect(doubled?.failed).toHaveLength(0);
  expect(summed?.built).toHaveLength(0);
  expect(summed?.failed.every((f) => f.category === 'PROCESSOR_ERROR')).toBe(true);
  // What the ledger recorded: DOUBLED's two transient failures (attempt 1, then built on attempt 2);
  // SUMMED's invalidQuery never retried (attempt 1 only).
  const recorded = await server.exec('SELECT processor, category, max(attempt) FROM `test-project._dag.failures` GROUP BY 1, 2 ORDER BY 1, 2');
  expect(recorded.rows).toEqual([
    ['DOUBLED', 'TRANSIENT', '1'],
    ['SUMMED', 'PROCESSOR_ERROR', '1'],
  ]);
  await bq.close();
});
