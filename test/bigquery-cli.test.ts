/**
 * The real `dag` binary on one pipeline with two targets — the embedded DuckDB file and BigQuery
 * through the loopback server (pipeline api_endpoint) — on the seed's situation: a calendar source,
 * a box-score source missing one day, early-season history too short for a lookback with `min`, and a
 * four-processor chain (lookback+min, same, same, offset -1). Plans, runs, a second run, a source
 * change, a schema change (a column added to a processor's SELECT), deleted partitions (a processor's,
 * then a source's), `plan --cost` and `explain` must agree, plans and the tables' rows alike; the server's log is checked for a whole CLI run
 * (location on every job and poll, labels, no credential material) and a timeout cancels the job.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBqServer, type BqServer, type LoggedRequest } from './bq-server/server.js';
import { jobInserts } from './bigquery-helpers.js';
import { looksLikeStackTrace, runDag, tempProject, type DagResult } from './support/cli.js';
import { writeFileSync } from 'node:fs';
import { createTable, deletePartition, queryRows, updatePartitionContent } from './support/duckdb.js';

const P = 'test-project';
const env = { METADATA_SERVER_DETECTION: 'none', GOOGLE_APPLICATION_CREDENTIALS: undefined };

const pipelineYaml = (endpoint: string, extraProcessors = '') => `version: 1
name: seedlike
targets:
  dev: { type: duckdb, path: warehouse.duckdb }
  bq: { type: bigquery, project: ${P}, location: US, api_endpoint: "${endpoint}", price_per_tib: 6.25 }
default_target: dev
calendar: schedule
defaults: { partition_column: game_date, batch_size: 7, retries: 0, concurrency: 2 }
sources:
  schedule: { table: raw.schedule }
  boxscores: { table: raw.boxscores }
processors:
  PSZA:
    table: precompute.psza
    upstream: { boxscores: { lookback: 6, min: 4 } }
    sql: sql/psza.sql
  PDC:
    table: precompute.pdc
    upstream: [boxscores, schedule]
    sql: sql/pdc.sql
  PCF:
    table: precompute.pcf
    upstream: [PSZA, PDC]
    sql: sql/pcf.sql
  MLFS:
    table: predictions.mlfs
    upstream: { PCF: same, PSZA: { offset: -1 } }
    sql: sql/mlfs.sql
${extraProcessors}`;

// Counting rows per day: the same text is valid DuckDB and (through the server) BigQuery SQL.
const sql = (...from: string[]): string =>
  `SELECT game_date, count(*) AS n FROM (${from.map((f) => `SELECT game_date FROM {{ ref('${f}') }}`).join(' UNION ALL ')})\nWHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n`;

function isoDays(start: string, end: string, except: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let d = new Date(`${start}T00:00:00Z`); d <= new Date(`${end}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    const iso = d.toISOString().slice(0, 10);
    if (!except.includes(iso)) out.push(iso);
  }
  return out;
}

const GAME_DAYS = isoDays('2021-10-19', '2021-11-09', ['2021-10-31']);
const BOXSCORE_DAYS = GAME_DAYS.filter((d) => d !== '2021-11-02');
const RANGE = '2021-10-19..2021-11-09';

let server: BqServer;
let dir = '';

async function seedBigquery(table: string, days: readonly string[], rows: number): Promise<void> {
  const values = days.flatMap((d) => Array.from({ length: rows }, (_, i) => `(DATE '${d}', ${i}, '${d}#${i}')`)).join(', ');
  await server.exec(
    `CREATE SCHEMA IF NOT EXISTS \`${P}.raw\`; CREATE TABLE \`${P}.${table}\` (game_date DATE, id INT64, payload STRING) PARTITION BY game_date; INSERT INTO \`${P}.${table}\` VALUES ${values}`,
  );
}

beforeAll(async () => {
  server = await startBqServer();
  dir = tempProject({
    'pipeline.yaml': pipelineYaml(server.url),
    'sql/psza.sql': sql('boxscores'),
    'sql/pdc.sql': sql('boxscores', 'schedule'),
    'sql/pcf.sql': sql('PSZA', 'PDC'),
    'sql/mlfs.sql': sql('PCF', 'PSZA'),
  });
  const db = join(dir, 'warehouse.duckdb');
  await createTable(db, 'raw.schedule', 'game_date', Object.fromEntries(GAME_DAYS.map((d) => [d, 2])));
  await createTable(db, 'raw.boxscores', 'game_date', Object.fromEntries(BOXSCORE_DAYS.map((d) => [d, 3])));
  await seedBigquery('raw.schedule', GAME_DAYS, 2);
  await seedBigquery('raw.boxscores', BOXSCORE_DAYS, 3);
});
afterAll(async () => {
  await server.close();
});

async function dag(args: readonly string[], target: 'dev' | 'bq'): Promise<DagResult> {
  const result = await runDag([...args, '--target', target], { cwd: dir, env });
  expect(looksLikeStackTrace(result.stderr + result.stdout), result.stderr).toBe(false);
  return result;
}

type PlanJson = {
  target?: string;
  stats?: unknown;
  processors: { name: string; partitions: { date: string; status: string; action: string; category?: string }[] }[];
  summary: Record<string, number>;
};

/** The plan without what legitimately differs between targets (its name and read statistics). */
async function planOf(target: 'dev' | 'bq'): Promise<Omit<PlanJson, 'target' | 'stats'>> {
  const r = await dag(['plan', '--range', RANGE, '--json'], target);
  expect(r.code, r.stderr).toBe(0);
  const { target: _name, stats: _stats, ...rest } = JSON.parse(r.stdout) as PlanJson;
  return rest;
}

type RunJson = {
  outcome: string;
  totals: { built: number };
  processors: { name: string; built: string[]; failed: { date: string; category: string; message: string }[] }[];
};

async function runOf(target: 'dev' | 'bq', args: readonly string[] = []): Promise<RunJson> {
  const r = await dag(['run', '--range', RANGE, '--json', ...args], target);
  return JSON.parse(r.stdout) as RunJson;
}

const builtDates = (run: RunJson) => Object.fromEntries(run.processors.map((p) => [p.name, p.built]));

/** The adapter's own requests to the server (not the test's direct exec calls, which are not logged). */
function locationProblems(log: readonly LoggedRequest[]): string[] {
  const problems: string[] = [];
  for (const r of log) {
    if (r.method === 'POST' && /^\/projects\/[^/]+\/queries$/.test(r.path)) problems.push(`fast path jobs.query used: ${JSON.stringify(r.body).slice(0, 80)}`);
    if (r.method === 'POST' && /\/jobs$/.test(r.path)) {
      const location = (r.body as { jobReference?: { location?: string } }).jobReference?.location;
      if (location !== 'US') problems.push(`job without location: ${JSON.stringify(r.body).slice(0, 120)}`);
    } else if (/\/(queries|jobs)\/[^/]+(\/cancel)?$/.test(r.path) && r.query.location !== 'US') problems.push(`${r.method} ${r.path} without location`);
  }
  return problems;
}

const TABLES = ['precompute.psza', 'precompute.pdc', 'precompute.pcf', 'predictions.mlfs'] as const;

/** Every processor table's rows on both targets, as text, sorted: the data must be the same. */
async function tablesOf(): Promise<{ dev: Record<string, string[]>; bq: Record<string, string[]> }> {
  const dev: Record<string, string[]> = {};
  const bq: Record<string, string[]> = {};
  const line = (values: readonly unknown[]) => values.map((v) => (v === null || v === undefined ? 'NULL' : String(v))).join('|');
  for (const table of TABLES) {
    const local = await queryRows(join(dir, 'warehouse.duckdb'), `SELECT * FROM ${table} ORDER BY ALL`);
    dev[table] = local.map((row) => line(Object.values(row))).sort();
    const remote = await server.exec(`SELECT * FROM \`${P}.${table}\``);
    bq[table] = remote.rows.map((row) => line(row)).sort();
  }
  return { dev, bq };
}

/** Plans equal, the runs build the same dates, and the tables end up with the same rows. */
async function planRunCompare(): Promise<{ plan: Omit<PlanJson, 'target' | 'stats'>; run: RunJson }> {
  const plans = [await planOf('dev'), await planOf('bq')];
  expect(plans[1]).toEqual(plans[0]);
  const runs = [await runOf('dev'), await runOf('bq')];
  expect(runs[1]!.processors.flatMap((p) => p.failed.map((f) => `${p.name} ${f.date} ${f.category} ${f.message}`))).toEqual(
    runs[0]!.processors.flatMap((p) => p.failed.map((f) => `${p.name} ${f.date} ${f.category} ${f.message}`)),
  );
  expect(builtDates(runs[1]!)).toEqual(builtDates(runs[0]!));
  const data = await tablesOf();
  expect(data.bq).toEqual(data.dev);
  return { plan: plans[1]!, run: runs[1]! };
}

const statusesOf = (plan: Omit<PlanJson, 'target' | 'stats'>, name: string, date: string) =>
  plan.processors.find((p) => p.name === name)?.partitions.find((p) => p.date === date);

describe('the bq target through the dag binary, against the duckdb target', () => {
  it('plans alike, runs alike, then has nothing left to do on both', async () => {
    const before = [await planOf('dev'), await planOf('bq')];
    expect(before[1]).toEqual(before[0]);
    const psza = before[1]!.processors.find((p) => p.name === 'PSZA')!;
    // Early season: fewer than 4 of 7 box-score days exist before 10-22 → INSUFFICIENT_HISTORY.
    expect(psza.partitions.filter((p) => p.category === 'INSUFFICIENT_HISTORY').map((p) => p.date)).toEqual(['2021-10-19', '2021-10-20', '2021-10-21']);
    const pdc = before[1]!.processors.find((p) => p.name === 'PDC')!;
    expect(pdc.partitions.find((p) => p.date === '2021-11-02')).toMatchObject({ action: 'blocked', category: 'MISSING_DEPENDENCIES' });
    expect(before[1]!.summary.build).toBeGreaterThan(0);

    const mark = server.log.length;
    const runs = [await runOf('dev'), await runOf('bq')];
    const bqLog = server.log.slice(mark);
    expect(runs[1]!.processors.flatMap((p) => p.failed.map((f) => `${p.name} ${f.date} ${f.category} ${f.message}`))).toEqual([]);
    expect(runs[1]!.outcome).toBe(runs[0]!.outcome);
    expect(builtDates(runs[1]!)).toEqual(builtDates(runs[0]!));
    expect(runs[1]!.totals.built).toBe(before[1]!.summary.build);

    // The whole CLI run's requests: location on every job and poll, dag's labels on every job.
    expect(locationProblems(bqLog)).toEqual([]);
    const jobs = jobInserts(bqLog);
    expect(jobs.length).toBeGreaterThan(5);
    const unlabelled = jobs.filter((j) => !j.labels.dag_run_id || !j.labels.dag_processor).map((j) => j.query.slice(0, 60));
    expect(unlabelled).toEqual([]);
    const batches = jobs.filter((j) => j.query.includes('BEGIN TRANSACTION') && j.query.includes('_dag_rows'));
    expect(new Set(batches.map((j) => j.labels.dag_processor))).toEqual(new Set(['psza', 'pdc', 'pcf', 'mlfs']));
    expect(new Set(jobs.map((j) => j.labels.dag_run_id)).size).toBe(1);

    const again = [await runOf('dev'), await runOf('bq')];
    expect(again.map((r) => r.totals.built)).toEqual([0, 0]);
    const after = [await planOf('dev'), await planOf('bq')];
    expect(after[1]).toEqual(after[0]);
    expect(after[1]!.summary.build).toBe(0);
  });

  it('a changed source partition makes the same partitions stale on both targets', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // modification times must move past the builds
    await updatePartitionContent(join(dir, 'warehouse.duckdb'), 'raw.boxscores', 'game_date', '2021-10-27');
    await server.exec(`INSERT INTO \`${P}.raw.boxscores\` VALUES (DATE '2021-10-27', 99, 'late')`);
    const plans = [await planOf('dev'), await planOf('bq')];
    expect(plans[1]).toEqual(plans[0]);
    const stale = plans[1]!.processors.map((p) => [p.name, p.partitions.filter((x) => x.status === 'stale').map((x) => x.date)]);
    // PSZA reads 6 days back, PDC the day itself, PCF follows both, MLFS reads PSZA a day later.
    expect(Object.fromEntries(stale)).toMatchObject({ PDC: ['2021-10-27'] });
    expect((Object.fromEntries(stale) as Record<string, string[]>).PSZA!.length).toBeGreaterThan(1);
  });

  it('explain gives the same first line on both', async () => {
    const lines: string[] = [];
    for (const t of ['dev', 'bq'] as const) lines.push((await dag(['explain', 'MLFS', '2021-11-03'], t)).stdout.split('\n')[0] ?? '');
    // Only the source's change time is said differently: DuckDB knows when dag recorded it, BigQuery
    // has a last_modified_time.
    const common = lines.map((line) => line.replace(/ changed (since dag last recorded it|at \S+), after .*$/, ' changed …'));
    expect(common[1]).toBe(common[0]);
    expect(common[1]).toMatch(/^MLFS 2021-11-03 is stale .* boxscores 2021-10-27 changed …$/);
    expect(lines[1]).toMatch(/boxscores 2021-10-27 changed at \d{4}-\d\d-\d\dT/);
  });

  it('plan --cost: bytes and price per processor and in total; unknown where the dry run cannot estimate', async () => {
    const r = await dag(['plan', '--range', RANGE, '--cost'], 'bq');
    expect(r.code, r.stderr).toBe(0);
    const cost = r.stdout.slice(r.stdout.indexOf('Cost (BigQuery on-demand estimate'));
    for (const name of ['PSZA', 'PDC', 'PCF', 'MLFS'])
      expect(cost).toMatch(new RegExp(`^  ${name}\\s+(\\d+(\\.\\d)? [KMGT]?i?B|unknown)\\s+(\\$\\d+\\.\\d\\d|unknown)$`, 'm'));
    expect(cost).toMatch(/^ {2}total\s+\d+(\.\d)? [KMGT]?i?B\s+\$\d+\.\d\d.* at \$6\.25\/TiB$/m);
    expect(jobInserts(server.log).filter((j) => j.dryRun).length).toBeGreaterThan(0);

    // A processor whose SQL reads a table that does not exist: BigQuery cannot estimate it.
    const broken = tempProject({
      'pipeline.yaml': pipelineYaml(server.url).replace(
        /processors:[\s\S]*$/,
        'processors:\n  GHOST: { table: precompute.ghost, upstream: [schedule], sql: sql/ghost.sql }\n',
      ),
      'sql/ghost.sql': 'SELECT game_date FROM `test-project.nowhere.nothing` WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}\n',
    });
    const unknown = await runDag(['plan', '--range', RANGE, '--cost', '--target', 'bq'], { cwd: broken, env });
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stdout).toMatch(/^ {2}GHOST\s+unknown\s+unknown$/m);
    expect(unknown.stdout).toMatch(/plus batches that could not be estimated/);
  });

  it('a job slower than the timeout is cancelled with jobs.cancel and recorded TIMEOUT', async () => {
    const slowDir = tempProject({
      'pipeline.yaml': pipelineYaml(server.url).replace(
        /processors:[\s\S]*$/,
        'processors:\n  SLOW: { table: precompute.slow, upstream: [schedule], sql: sql/slow.sql, timeout: 1s }\n',
      ),
      'sql/slow.sql': sql('schedule'),
    });
    server.faults.push({ kind: 'slow', sql: /precompute\.slow[\s\S]*BEGIN TRANSACTION/, ms: 30_000 });
    const mark = server.log.length;
    const r = await runDag(['run', '--range', '2021-11-01..2021-11-01', '--json', '--target', 'bq'], { cwd: slowDir, env });
    const log = server.log.slice(mark);
    const json = JSON.parse(r.stdout) as RunJson;
    expect(json.processors[0]!.failed).toEqual([{ date: '2021-11-01', category: 'TIMEOUT', message: expect.stringMatching(/timed out after 1s/) }]);
    const cancels = log.filter((x) => x.method === 'POST' && x.path.endsWith('/cancel'));
    expect(cancels).toHaveLength(1);
    expect(locationProblems(log)).toEqual([]);
    const recorded = await server.exec(`SELECT category FROM \`${P}._dag.failures\` WHERE processor = 'SLOW'`);
    expect(recorded.rows).toEqual([['TIMEOUT']]);
  });

  it('a column added to a SELECT: same plans, same rebuilds and the same rows (the new column included) on both', async () => {
    await planRunCompare(); // the source change above, built on both
    writeFileSync(join(dir, 'sql/pdc.sql'), sql('boxscores', 'schedule').replace('count(*) AS n', "count(*) AS n, 'v2' AS tag"));
    const { plan, run } = await planRunCompare();
    expect(statusesOf(plan, 'PDC', '2021-11-03')).toMatchObject({ status: 'stale', action: 'build' });
    expect(builtDates(run).PDC!.length).toBeGreaterThan(10);
    const pdc = await server.exec(`SELECT tag, count(*) FROM \`${P}.precompute.pdc\` GROUP BY 1`);
    expect(pdc.rows).toEqual([['v2', String(builtDates(run).PDC!.length)]]);
  });

  it('deleted partitions: a processor partition dropped is rebuilt, a source day dropped blocks its readers, alike on both', async () => {
    await deletePartition(join(dir, 'warehouse.duckdb'), 'precompute.pdc', 'game_date', '2021-11-04');
    await server.exec(`DELETE FROM \`${P}.precompute.pdc\` WHERE game_date = DATE '2021-11-04'`);
    const rebuilt = await planRunCompare();
    expect(statusesOf(rebuilt.plan, 'PDC', '2021-11-04')).toMatchObject({ action: 'build' });
    expect(builtDates(rebuilt.run).PDC).toContain('2021-11-04');

    await deletePartition(join(dir, 'warehouse.duckdb'), 'raw.boxscores', 'game_date', '2021-11-06');
    await server.exec(`DELETE FROM \`${P}.raw.boxscores\` WHERE game_date = DATE '2021-11-06'`);
    const blocked = await planRunCompare();
    expect(statusesOf(blocked.plan, 'PDC', '2021-11-06')).toMatchObject({ action: 'blocked' });
    // Nothing left to do, and nothing different, on either.
    const after = [await planOf('dev'), await planOf('bq')];
    expect(after[1]).toEqual(after[0]);
    expect(after[1]!.summary.build ?? 0).toBe(0);
  });

  it('no credential material in any request the CLI runs above made', async () => {
    expect(server.log.length).toBeGreaterThan(50);
    const text = JSON.stringify(server.log.map((r) => ({ ...r, headers: { ...r.headers, host: undefined } })));
    expect(text).not.toMatch(/authorization|private_key|BEGIN PRIVATE KEY|access_token|refresh_token/i);
  });
});
