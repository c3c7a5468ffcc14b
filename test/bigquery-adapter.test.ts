/**
 * The BigQuery adapter driven through the real @google-cloud/bigquery client against the loopback
 * server (test/bq-server): query counts, atomic batches, cancellation, failure categories, location
 * and labels on every job, ledger, lock, cost.
 */
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { batchJob, day, jobInserts, loadTestPipeline, openTestWarehouse, resetServer, seedGames } from './bigquery-helpers.js';
import type { Pipeline } from '../src/core/model.js';
import type { Warehouse } from '../src/warehouse/port.js';
import { commandBatch, sqlBatch } from './support/batches.js';

let server: BqServer;
let pipeline: Pipeline;
let warehouse: Warehouse;

beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  await resetServer(server);
  ({ pipeline } = await loadTestPipeline(server));
  warehouse = await openTestWarehouse(pipeline);
});
afterEach(async () => {
  await warehouse.close();
});

const never = new AbortController().signal;

describe('bigquery snapshot', () => {
  it('reads inventory in one query per dataset plus the ledger and failures, whatever the number of dates', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02', '2021-11-03']);
    const snapshot = await warehouse.readSnapshot(pipeline, ['games', 'DOUBLED', 'SUMMED', 'EXTERNAL']);
    // datasets raw, derived, other + the ledger check (no ledger dataset yet: nothing more to read)
    expect(snapshot.stats.queries).toBe(4);
    expect(jobInserts(server.log)).toHaveLength(4);
    const games = snapshot.tables.get('games');
    expect(games?.exists).toBe(true);
    expect([...(games?.partitions.keys() ?? [])].sort()).toEqual([day('2021-11-01'), day('2021-11-02'), day('2021-11-03')]);
    const info = games?.partitions.get(day('2021-11-02'));
    expect(info?.rows).toBe(2);
    expect(info?.changedAt).toBeGreaterThan(0);
    expect(info?.version).toBe(`${info?.changedAt}:2`);
    expect(snapshot.tables.get('DOUBLED')?.exists).toBe(false);
    expect(snapshot.ledger.size).toBe(0);

    // Ten times the dates, and a ledger: still one query per dataset, plus the ledger check (columns,
    // version), entries, names and failures.
    await seedGames(
      server,
      Array.from({ length: 30 }, (_, i) => `2021-12-${String(i + 1).padStart(2, '0')}`),
    );
    expect((await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-12-01']), never)).ok).toBe(true);
    server.log.length = 0;
    const again = await warehouse.readSnapshot(pipeline, ['games', 'DOUBLED', 'SUMMED', 'EXTERNAL']);
    expect(again.stats.queries).toBe(3 + 3);
    expect(jobInserts(server.log)).toHaveLength(3 + 3);
    expect(again.ledger.get('DOUBLED')?.size).toBe(1);
    expect(again.tables.get('games')?.partitions.size).toBe(33);
  });

  it('refuses a table partitioned on another column, saying which and what to do', async () => {
    await server.exec('CREATE SCHEMA `test-project.raw`; CREATE TABLE `test-project.raw.games` (game_date DATE, day2 DATE) PARTITION BY day2');
    await expect(warehouse.readSnapshot(pipeline, ['games'])).rejects.toThrow(
      /games \(raw\.games\) is partitioned on day2, but pipeline\.yaml says partition_column: game_date/,
    );
  });

  it('refuses an unpartitioned table', async () => {
    await server.exec('CREATE SCHEMA `test-project.raw`; CREATE TABLE `test-project.raw.games` (game_date DATE, team STRING)');
    await expect(warehouse.readSnapshot(pipeline, ['games'])).rejects.toThrow(/is not partitioned/);
  });
});

describe('bigquery sql batches', () => {
  it('builds a batch in one script job and records the ledger in the same transaction', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    server.log.length = 0;
    const outcome = await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01', '2021-11-02', '2021-11-03']), never);
    expect(outcome).toEqual({
      ok: true,
      rows: new Map([
        [day('2021-11-01'), 2],
        [day('2021-11-02'), 2],
        [day('2021-11-03'), 0],
      ]),
      absent: [],
    });
    // the schema check's free dry run of the SELECT, then the ledger check and DDL once and exactly one job for the batch
    expect(jobInserts(server.log).filter((j) => j.dryRun)).toHaveLength(1);
    const inserts = jobInserts(server.log).filter((j) => !j.dryRun);
    expect(inserts).toHaveLength(3);
    expect(inserts[2]?.query).toContain('BEGIN TRANSACTION;');
    expect(inserts[2]?.labels).toMatchObject({ dag_run_id: 'run-1', dag_processor: 'doubled', team: 'data' });

    const snapshot = await warehouse.readSnapshot(pipeline, ['games', 'DOUBLED']);
    expect(snapshot.tables.get('DOUBLED')?.partitions.get(day('2021-11-01'))?.rows).toBe(2);
    const ledger = snapshot.ledger.get('DOUBLED');
    expect(ledger?.get(day('2021-11-03'))).toMatchObject({
      rows: 0,
      runId: 'run-1',
      codeFingerprint: 'code-fp',
      inputFingerprint: `input-${day('2021-11-03')}`,
    });
    expect(ledger?.size).toBe(3);
    const points = await server.exec("SELECT points FROM `test-project.derived.doubled` WHERE team = 'A' ORDER BY game_date");
    expect(points.rows).toEqual([['200'], ['202']]);
  });

  it('a fault between statements leaves the old partitions and no ledger row (atomic)', async () => {
    await seedGames(server, ['2021-11-01']);
    expect((await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01'], 'run-1', 1000), never)).ok).toBe(true);
    await server.exec('UPDATE `test-project.raw.games` SET points = 1 WHERE TRUE');
    // The table exists now, so the script has no DDL: 0 stage, 1 assert, 2 BEGIN, 3 DELETE, 4 INSERT,
    // 5 the ledger INSERT — data already deleted and re-inserted inside the transaction.
    server.faults.push({ kind: 'failBetween', sql: /BEGIN TRANSACTION/, beforeStatement: 5, reason: 'backendError' });
    const outcome = await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01'], 'run-2', 2000), never);
    expect(outcome).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    const points = await server.exec('SELECT points FROM `test-project.derived.doubled` ORDER BY team');
    expect(points.rows).toEqual([['200'], ['180']]);
    const snapshot = await warehouse.readSnapshot(pipeline, ['DOUBLED']);
    expect(snapshot.ledger.get('DOUBLED')?.get(day('2021-11-01'))?.runId).toBe('run-1');
  });

  it('a new table is typed from the staged rows (the SELECT runs once); existing tables get no DDL; a dropped one is recreated', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    const scriptsOf = () =>
      jobInserts(server.log)
        .filter((j) => j.query.includes('BEGIN TRANSACTION'))
        .map((j) => j.query);
    const selectRuns = (script: string) => script.split('FROM `test-project.raw.games`').length - 1;
    expect((await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01']), never)).ok).toBe(true);
    let [script] = scriptsOf();
    expect(script).toContain('PARTITION BY `game_date` AS SELECT * FROM _dag_rows WHERE FALSE;');
    expect(selectRuns(script ?? '')).toBe(1);
    const columns = await server.exec(
      "SELECT column_name, data_type FROM `test-project.derived.INFORMATION_SCHEMA.COLUMNS` WHERE table_name = 'doubled' ORDER BY ordinal_position",
    );
    expect(columns.rows).toEqual([
      ['game_date', 'DATE'],
      ['team', 'STRING'],
      ['points', 'INT64'],
    ]);

    // Known to exist (this process built it; a snapshot would say so too): no DDL at all.
    server.log.length = 0;
    expect((await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-02']), never)).ok).toBe(true);
    [script] = scriptsOf();
    expect(script).not.toMatch(/CREATE (SCHEMA|TABLE)/);
    expect(selectRuns(script ?? '')).toBe(1);

    // Dropped behind dag's back: the DDL-less script fails notFound, the batch is retried with DDL.
    await server.exec('DROP TABLE `test-project.derived.doubled`');
    server.log.length = 0;
    const outcome = await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-02']), never);
    expect(outcome).toMatchObject({ ok: true, rows: new Map([[day('2021-11-02'), 2]]) });
    expect(scriptsOf().map((s) => s.includes('CREATE TABLE'))).toEqual([false, true]);
  });

  it('rows outside the batch range fail with OUT_OF_RANGE_ROWS and write nothing', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    ({ pipeline } = await loadTestPipeline(server, { 'sql/doubled.sql': "SELECT game_date, team, points FROM {{ ref('games') }}" }));
    const outcome = await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01']), never);
    expect(outcome).toMatchObject({ ok: false, failure: { category: 'OUT_OF_RANGE_ROWS' } });
    if (!outcome.ok) expect(outcome.failure.message).toMatch(/outside 2021-11-01\.\.2021-11-01/);
    const snapshot = await warehouse.readSnapshot(pipeline, ['DOUBLED']);
    expect(snapshot.tables.get('DOUBLED')?.partitions.size).toBe(0);
    expect(snapshot.tables.get('DOUBLED')?.exists).toBe(false); // the assertion fails before any DDL
    expect(snapshot.ledger.size).toBe(0);
  });

  it('bad SQL is PROCESSOR_ERROR; rate limits, 5xx and job-level backend errors are TRANSIENT', async () => {
    await seedGames(server, ['2021-11-01']);
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 }); // ledger DDL out of the way
    ({ pipeline } = await loadTestPipeline(server, { 'sql/doubled.sql': 'SELEC nonsense' }));
    expect(await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01']), never)).toMatchObject({
      ok: false,
      failure: { category: 'PROCESSOR_ERROR' },
    });
    ({ pipeline } = await loadTestPipeline(server));
    const job = batchJob(pipeline, 'DOUBLED', ['2021-11-01']);
    server.faults.push({ kind: 'http', method: 'POST', path: /\/jobs$/, sql: /BEGIN TRANSACTION/, status: 429, reason: 'rateLimitExceeded' });
    expect(await sqlBatch(warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    server.faults.push({ kind: 'http', method: 'POST', path: /\/jobs$/, sql: /BEGIN TRANSACTION/, status: 500, reason: 'internalError' });
    expect(await sqlBatch(warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    server.faults.push({ kind: 'jobError', sql: /BEGIN TRANSACTION/, reason: 'backendError' });
    expect(await sqlBatch(warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'TRANSIENT' } });
    server.faults.push({ kind: 'jobError', sql: /BEGIN TRANSACTION/, reason: 'accessDenied', message: 'Access Denied: Table raw.games' });
    expect(await sqlBatch(warehouse, job, never)).toMatchObject({ ok: false, failure: { category: 'PROCESSOR_ERROR' } });
    // The batch client does not retry by itself: one request per attempt, so the runner counts them
    // (the bad SQL fails its dry run: no script is sent for it).
    const batchInserts = jobInserts(server.log).filter((j) => j.query.includes('BEGIN TRANSACTION'));
    expect(batchInserts).toHaveLength(4);
    expect(await sqlBatch(warehouse, job, never)).toMatchObject({ ok: true });
  });

  it('aborting the signal cancels the BigQuery job (jobs.cancel in the log) and returns CANCELLED', async () => {
    await seedGames(server, ['2021-11-01']);
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 });
    server.faults.push({ kind: 'slow', sql: /BEGIN TRANSACTION/, ms: 30_000 });
    const controller = new AbortController();
    const running = sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01']), controller.signal);
    while (!jobInserts(server.log).some((j) => j.query.includes('BEGIN TRANSACTION'))) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await running).toMatchObject({ ok: false, failure: { category: 'CANCELLED' } });
    while (!server.log.some((r) => r.method === 'POST' && r.path.endsWith('/cancel'))) await new Promise((r) => setTimeout(r, 10));
    const cancel = server.log.find((r) => r.path.endsWith('/cancel'));
    expect(cancel?.query.location).toBe('US');
    const batch = server
      .jobs()
      .filter((j) => JSON.stringify(j.configuration).includes('BEGIN TRANSACTION'))
      .pop();
    while (server.jobs().find((j) => j.id === batch?.id)?.state !== 'DONE') await new Promise((r) => setTimeout(r, 10));
    expect(server.jobs().find((j) => j.id === batch?.id)?.error).toMatch(/^stopped/);
    const snapshot = await warehouse.readSnapshot(pipeline, ['DOUBLED']);
    expect(snapshot.ledger.size).toBe(0);
  });

  it('passes the location on every job and every poll, and the target labels and limits on jobs', async () => {
    ({ pipeline } = await loadTestPipeline(server, {}, ', maximum_bytes_billed: 1000000000, job_timeout: 10m'));
    warehouse = await openTestWarehouse(pipeline);
    await seedGames(server, ['2021-11-01']);
    await warehouse.readSnapshot(pipeline, ['games', 'DOUBLED']);
    await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01']), never);
    await warehouse.estimateBytes(batchJob(pipeline, 'DOUBLED', ['2021-11-01']));
    const inserts = jobInserts(server.log);
    expect(inserts.length).toBeGreaterThanOrEqual(6);
    for (const insert of inserts) {
      expect(insert.location).toBe('US');
      expect(insert.labels.team).toBe('data');
      expect((insert.body.configuration as { jobTimeoutMs?: string }).jobTimeoutMs).toBe('600000');
      expect((insert.body.configuration as { query: { maximumBytesBilled?: string } }).query.maximumBytesBilled).toBe('1000000000');
    }
    const polls = server.log.filter((r) => r.method === 'GET' && r.path.includes('/queries/'));
    expect(polls.length).toBeGreaterThan(0);
    for (const poll of polls) expect(poll.query.location).toBe('US');
    // the real client's apiEndpoint path carries the /bigquery/v2 prefix
    expect(server.log.every((r) => r.prefixed)).toBe(true);
  });
});

describe('bigquery command batches, ledger, lock, cost', () => {
  it('runs a command with project/location/dataset/table in env, then records present partitions', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    let seen: Readonly<Record<string, string>> = {};
    const outcome = await commandBatch(
      warehouse,
      batchJob(pipeline, 'EXTERNAL', ['2021-11-01', '2021-11-02']),
      async (env) => {
        seen = env;
        await server.exec(
          "CREATE SCHEMA IF NOT EXISTS `test-project.other`; CREATE TABLE `test-project.other.external` (game_date DATE, n INT64) PARTITION BY game_date; INSERT INTO `test-project.other.external` VALUES (DATE '2021-11-01', 1), (DATE '2021-11-01', 2)",
        );
        return undefined;
      },
      never,
    );
    expect(seen).toEqual({ DAG_BQ_PROJECT: 'test-project', DAG_BQ_LOCATION: 'US', DAG_BQ_DATASET: 'other', DAG_TABLE: 'external' });
    expect(outcome).toEqual({ ok: true, rows: new Map([[day('2021-11-01'), 2]]), absent: [day('2021-11-02')] });
    const snapshot = await warehouse.readSnapshot(pipeline, ['EXTERNAL']);
    const ledger = snapshot.ledger.get('EXTERNAL');
    expect(ledger?.get(day('2021-11-01'))).toMatchObject({ runId: 'run-1', rows: 2, codeFingerprint: 'code-fp' });
    // The day the command left empty keeps its marker (rows -1: not present, so still missing).
    expect(ledger?.get(day('2021-11-02'))).toMatchObject({ rows: -1, codeFingerprint: 'unfinished:run-1' });
  });

  it('marks the batch unfinished in one ledger job before the command starts; a failing command leaves the markers', async () => {
    let before: ReturnType<typeof jobInserts> = [];
    const job = batchJob(pipeline, 'EXTERNAL', ['2021-11-01', '2021-11-02'], 'run-9', 5000);
    const outcome = await commandBatch(
      warehouse,
      job,
      async () => {
        before = jobInserts(server.log);
        return { category: 'PROCESSOR_ERROR', message: 'exit 3' };
      },
      never,
    );
    expect(outcome).toEqual({ ok: false, failure: { category: 'PROCESSOR_ERROR', message: 'exit 3' } });
    expect(before.filter((j) => j.query.startsWith('INSERT INTO `test-project._dag.partitions`'))).toHaveLength(1);
    const ledger = (await warehouse.readSnapshot(pipeline, ['EXTERNAL'])).ledger.get('EXTERNAL');
    for (const d of ['2021-11-01', '2021-11-02'])
      expect(ledger?.get(day(d))).toEqual({ runId: 'run-9', builtAt: 4999, rows: -1, codeFingerprint: 'unfinished:run-9', inputFingerprint: '' });
  });

  it('records failures that the next snapshot reports until the partition is built', async () => {
    await seedGames(server, ['2021-11-01']);
    await warehouse.recordFailures([
      { runId: 'run-1', processor: 'DOUBLED', day: day('2021-11-01'), category: 'TIMEOUT', message: 'slow', attempt: 1, at: 1000 },
    ]);
    let snapshot = await warehouse.readSnapshot(pipeline, ['DOUBLED']);
    expect(snapshot.failures.get('DOUBLED')?.get(day('2021-11-01'))).toBe('TIMEOUT');
    await sqlBatch(warehouse, batchJob(pipeline, 'DOUBLED', ['2021-11-01'], 'run-2', 2000), never);
    snapshot = await warehouse.readSnapshot(pipeline, ['DOUBLED']);
    expect(snapshot.failures.size).toBe(0);
  });

  it('one writer per target: a second run is refused with the holder, a dead holder on this host is taken over', async () => {
    const a = { runId: 'run-a', pid: process.pid, host: 'other-host', since: 1000, commandLine: 'dag run a' };
    const b = { runId: 'run-b', pid: process.pid, host: hostname(), since: 2000, commandLine: 'dag run b' };
    expect(await warehouse.acquireLock(a, 0)).toEqual({ ok: true });
    expect(await warehouse.acquireLock(b, 0)).toEqual({ ok: false, holder: a });
    await warehouse.releaseLock(a);
    expect(await warehouse.acquireLock(b, 0)).toEqual({ ok: true });
    await warehouse.releaseLock(b);
    const dead = { runId: 'run-dead', pid: 2 ** 22 + 12345, host: hostname(), since: 3000, commandLine: 'dag run dead' };
    expect(await warehouse.acquireLock(dead, 0)).toEqual({ ok: true });
    expect(await warehouse.acquireLock(b, 0)).toEqual({ ok: true });
  });

  it('lock race: a run that finds another holder beside its own row backs off, whatever the order of their start times', async () => {
    // run-b saw only itself and went ahead; run-a, which started EARLIER, committed its row later and
    // now sees both rows. It must not believe it holds the lock (ordering by start time would say so).
    await warehouse.recordRun({ runId: 'r', commandLine: 'x', target: 'bq', startedAt: 1 }); // ledger DDL
    await server.exec(
      "INSERT INTO `test-project._dag.locks` (target, run_id, pid, host, since, command_line) VALUES ('bq', 'run-b', " +
        `${process.pid}, '${hostname()}', TIMESTAMP_MILLIS(2000), 'dag run b')`,
    );
    const a = { runId: 'run-a', pid: process.pid, host: hostname(), since: 1000, commandLine: 'dag run a' };
    // run-a's row committed too (both INSERTs ran on the same empty snapshot): the state run-a's
    // lock script reads back after its COMMIT.
    const holders = async () => (await server.exec('SELECT run_id FROM `test-project._dag.locks` ORDER BY run_id')).rows.map((r) => r[0]);
    await server.exec(
      "INSERT INTO `test-project._dag.locks` (target, run_id, pid, host, since, command_line) VALUES ('bq', 'run-a', " +
        `${process.pid}, '${hostname()}', TIMESTAMP_MILLIS(1000), 'dag run a')`,
    );
    expect(await holders()).toEqual(['run-a', 'run-b']);
    const result = await warehouse.acquireLock(a, 0);
    expect(result).toMatchObject({ ok: false, holder: { runId: 'run-b' } });
    expect(await holders()).toEqual(['run-b']); // run-a gave its row back
  });

  it('skips __NULL__ partitions and reads inventories of more than 1,000 tables in chunks of 1,000', async () => {
    await seedGames(server, ['2021-11-01']);
    await server.exec("INSERT INTO `test-project.raw.games` VALUES (NULL, 'A', 1)");
    const ids = await server.exec("SELECT partition_id FROM `test-project.raw.INFORMATION_SCHEMA.PARTITIONS` WHERE table_name = 'games' ORDER BY 1");
    expect(ids.rows).toEqual([['20211101'], ['__NULL__']]);
    const games = (await warehouse.readSnapshot(pipeline, ['games'])).tables.get('games');
    expect([...(games?.partitions.keys() ?? [])]).toEqual([day('2021-11-01')]);

    const names = Array.from({ length: 1_001 }, (_, i) => `s${String(i).padStart(4, '0')}`);
    const many = await loadTestPipeline(server, {
      'pipeline.yaml': `version: 1\nname: many\ntargets:\n  bq: { type: bigquery, project: test-project, location: US, api_endpoint: "${server.url}" }\ndefault_target: bq\ndefaults: { partition_column: game_date }\nsources:\n${names.map((n) => `  ${n}: { table: raw.${n} }`).join('\n')}\nprocessors:\n  P: { table: derived.p, upstream: [s0000], sql: sql/p.sql }\n`,
      'sql/p.sql': "SELECT * FROM {{ ref('s0000') }}\n",
    });
    await server.exec(
      "CREATE TABLE `test-project.raw.s1000` (game_date DATE, x INT64) PARTITION BY game_date; INSERT INTO `test-project.raw.s1000` VALUES (DATE '2021-11-01', 1)",
    );
    server.log.length = 0;
    const snapshot = await warehouse.readSnapshot(many.pipeline, names);
    const inventories = jobInserts(server.log).filter((j) => j.query.includes('INFORMATION_SCHEMA.PARTITIONS'));
    const sizes = inventories.map(
      (j) =>
        (j.body.configuration as { query: { queryParameters: { parameterValue: { arrayValues: unknown[] } }[] } }).query.queryParameters[0]?.parameterValue
          .arrayValues.length,
    );
    expect(sizes.sort()).toEqual([1, 1000]);
    expect(snapshot.stats.queries).toBe(2 + 1); // two inventory chunks and the ledger check (no ledger)
    expect(snapshot.tables.get('s1000')?.partitions.get(day('2021-11-01'))?.rows).toBe(1);
    expect(snapshot.tables.get('s0000')?.exists).toBe(false);
  });

  it('estimates bytes with a free dry run; unknown for commands and unreadable SQL', async () => {
    await seedGames(server, ['2021-11-01', '2021-11-02']);
    server.log.length = 0;
    const bytes = await warehouse.estimateBytes(batchJob(pipeline, 'DOUBLED', ['2021-11-01']));
    expect(bytes).toBeGreaterThan(0);
    // Dry runs, and one metadata read of the dataset's partition sizes (what the DELETE would bill).
    expect(jobInserts(server.log).every((j) => j.dryRun || j.query.includes('INFORMATION_SCHEMA.PARTITIONS'))).toBe(true);
    expect(jobInserts(server.log).filter((j) => !j.dryRun)).toHaveLength(1);
    expect(await warehouse.estimateBytes(batchJob(pipeline, 'EXTERNAL', ['2021-11-01']))).toBeUndefined();
    expect(await warehouse.estimateBytes(batchJob(pipeline, 'SUMMED', ['2021-11-01']))).toBeUndefined(); // derived.doubled does not exist yet
  });
});
