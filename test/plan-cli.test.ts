/**
 * `dag plan` and `dag explain` through the real binary on a real DuckDB file: the seed's situation
 * (a season starting 2021-10-19, no games on Thanksgiving, the 2021-11-10 box-score scrape missing;
 * TDZA, PSZA, PDC, PCF feed MLFS), then ledger states: fresh, a changed source partition, a zero-row
 * partition, a code change, and a partition built outside dag.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { parseIsoDate, formatDay } from '../src/core/dates.js';
import { codeFingerprint } from '../src/core/fingerprint.js';
import type { Pipeline, Processor } from '../src/core/model.js';
import { openDuckdb } from '../src/warehouse/duckdb/index.js';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { createTable, execSql, updatePartitionContent } from './support/duckdb.js';

const PIPELINE = `version: 1
name: seed
targets:
  dev: { type: duckdb, path: warehouse.duckdb }
default_target: dev
calendar: schedule
defaults: { partition_column: game_date, batch_size: 31 }
sources:
  schedule: { table: raw.schedule }
  boxscores: { table: raw.player_boxscores }
processors:
  TDZA:
    table: precompute.tdza
    upstream: { boxscores: { lookback: 15d } }
    sql: sql/tdza.sql
  PSZA:
    table: precompute.psza
    upstream: { boxscores: { lookback: 14, min: 10 } }
    sql: sql/psza.sql
  PDC:
    table: precompute.pdc
    upstream: [boxscores, schedule]
    sql: sql/pdc.sql
  PCF:
    table: precompute.pcf
    upstream: [TDZA, PSZA, PDC]
    sql: sql/pcf.sql
  MLFS:
    table: predictions.mlfs
    upstream: { PCF: same, PDC: same, PSZA: { offset: -1 } }
    sql: sql/mlfs.sql
    start: 2021-10-25
    batch_size: 7
`;

const sql = (...from: string[]): string =>
  `SELECT game_date, count(*) AS n FROM (${from.map((f) => `SELECT game_date FROM {{ ref('${f}') }}`).join(' UNION ALL ')})\nWHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n`;

function isoDays(start: string, end: string, except: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let d = parseIsoDate(start)!; d <= parseIsoDate(end)!; d++) if (!except.includes(formatDay(d))) out.push(formatDay(d));
  return out;
}

const GAME_DAYS = isoDays('2021-10-19', '2021-11-30', ['2021-11-25']);
const BOXSCORE_DAYS = GAME_DAYS.filter((d) => d !== '2021-11-10');

let dir = '';
let db = '';

async function seedSources(): Promise<void> {
  await createTable(db, 'raw.schedule', 'game_date', Object.fromEntries(GAME_DAYS.map((d) => [d, 2])));
  await createTable(db, 'raw.player_boxscores', 'game_date', Object.fromEntries(BOXSCORE_DAYS.map((d) => [d, 3])));
}

async function loaded(): Promise<Pipeline> {
  const outcome = await loadPipeline({ cwd: dir });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.diagnostics));
  return outcome.pipeline;
}

type Json = {
  processors: {
    name: string;
    counts: Record<string, number>;
    partitions: { date: string; status: string; action: string; category?: string; needs?: unknown; reasons?: unknown }[];
    batches: unknown[];
  }[];
  summary: Record<string, number>;
  stats: { queries: number };
};

async function planJson(range: string, extra: string[] = []): Promise<Json> {
  const r = await runDag(['plan', '--range', range, '--json', ...extra], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Json;
}

beforeAll(async () => {
  dir = tempProject({
    'pipeline.yaml': PIPELINE,
    'sql/tdza.sql': sql('boxscores'),
    'sql/psza.sql': sql('boxscores'),
    'sql/pdc.sql': sql('boxscores', 'schedule'),
    'sql/pcf.sql': sql('TDZA', 'PSZA', 'PDC'),
    'sql/mlfs.sql': sql('PCF', 'PDC', 'PSZA'),
  });
  db = join(dir, 'warehouse.duckdb');
  await seedSources();
});

describe('dag plan on the seed situation', () => {
  it('prints the exact plan as DESIGN §6 JSON', async () => {
    const plan = await planJson('2021-11-01..2021-11-30');
    const counts = Object.fromEntries(plan.processors.map((p) => [p.name, p.counts]));
    // 29 game days in November. TDZA's 15-day lookback covers the 11-10 gap from 11-10 to 11-24 (15 days).
    expect(counts.TDZA).toEqual({ expected: 29, fresh: 0, missing: 29, stale: 0, build: 14, blocked: 15 });
    expect(counts.PSZA).toEqual({ expected: 29, fresh: 0, missing: 29, stale: 0, build: 29, blocked: 0 });
    expect(counts.PDC).toEqual({ expected: 29, fresh: 0, missing: 29, stale: 0, build: 28, blocked: 1 });
    expect(counts.PCF).toEqual({ expected: 29, fresh: 0, missing: 29, stale: 0, build: 14, blocked: 15 });
    expect(counts.MLFS).toEqual({ expected: 29, fresh: 0, missing: 29, stale: 0, build: 13, blocked: 16 });
    const mlfs = plan.processors.find((p) => p.name === 'MLFS')!;
    expect(mlfs.partitions[0]).toEqual({
      date: '2021-11-01',
      status: 'missing',
      action: 'blocked',
      category: 'OUT_OF_RANGE',
      needs: [{ upstream: 'PSZA', dates: ['2021-10-31'] }],
    });
    expect(mlfs.partitions.find((p) => p.date === '2021-11-10')).toEqual({
      date: '2021-11-10',
      status: 'missing',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [
        { upstream: 'PCF', dates: ['2021-11-10'] },
        { upstream: 'PDC', dates: ['2021-11-10'] },
      ],
    });
    expect(mlfs.batches).toEqual([
      { start: '2021-11-02', end: '2021-11-08' },
      { start: '2021-11-09', end: '2021-11-09' },
      { start: '2021-11-26', end: '2021-11-30' },
    ]);
    expect(plan.summary).toMatchObject({ expected: 145, build: 98, blocked: 47 });
    expect(plan.stats.queries).toBeGreaterThan(0);
    expect(plan.stats.queries).toBeLessThan(12);
  });

  it('early season: PSZA lacks history before the calendar (INSUFFICIENT_HISTORY)', async () => {
    const plan = await planJson('2021-10-19..2021-10-31', ['--select', 'PSZA']);
    const psza = plan.processors[0]!;
    expect(plan.processors.map((p) => p.name)).toEqual(['PSZA']);
    // Position p reads p-14..p: at least 10 present from the 10th game day (10-28) on.
    expect(psza.partitions.filter((p) => p.action === 'blocked').map((p) => [p.date, p.category])).toEqual(
      isoDays('2021-10-19', '2021-10-27').map((d) => [d, 'INSUFFICIENT_HISTORY']),
    );
  });

  it('text output: counts, gaps as ranges, causes by category, totals; --exit-code', async () => {
    const r = await runDag(['plan', '--range', '2021-11-01..2021-11-30', '--exit-code'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^TDZA\s+29\s+0\s+29\s+0\s+14\s+15\s+2\s+2021-11-01\.\.30$/m);
    expect(r.stdout).toContain('MISSING_DEPENDENCIES');
    expect(r.stdout).toContain('PDC 2021-11-10 (1): lacks boxscores 2021-11-10');
    expect(r.stdout).toMatch(/Total: 145 expected, 0 fresh, 145 missing, 0 stale: 98 to build in \d+ batches, 47 blocked\./);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('explain walks to the root cause', async () => {
    const r = await runDag(['explain', 'MLFS', '2021-11-12'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      'MLFS 2021-11-12 is missing and blocked: MISSING_DEPENDENCIES: PCF 2021-11-12 is missing and blocked: MISSING_DEPENDENCIES: TDZA 2021-11-12 is missing and blocked: MISSING_DEPENDENCIES: lacks 1 of the 16 boxscores partitions it reads: boxscores 2021-11-10 is absent: a gap in the source (MISSING_DEPENDENCIES)',
    );
    const early = await runDag(['explain', 'PSZA', '2021-10-22', '--json'], { cwd: dir });
    const json = JSON.parse(early.stdout) as { explanation: { text: string; causes: { text: string }[] } };
    expect(json.explanation.text).toBe('is missing and blocked: INSUFFICIENT_HISTORY');
    expect(json.explanation.causes[0]!.text).toBe(
      "has 4 of the 15 boxscores partitions it reads (min 10); 11 would lie before the calendar's first partition 2021-10-19 (INSUFFICIENT_HISTORY)",
    );
  });

  it('explain of a processor with a start judges its upstream from the calendar start, not from that start', async () => {
    // MLFS starts 2021-10-25 and reads PSZA's previous game day: PSZA 10-23 lacks history (it never
    // had 10 games by then); widening the range would not help, so OUT_OF_RANGE would be a wrong answer.
    const r = await runDag(['explain', 'MLFS', '2021-10-25'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('OUT_OF_RANGE');
    expect(r.stdout.split('\n')[0]).toMatch(/^MLFS 2021-10-25 is missing and blocked: MISSING_DEPENDENCIES: .*INSUFFICIENT_HISTORY/);
    expect(r.stdout).toMatch(/\(planned 2021-10-19\.\.2021-10-25 /);
  });

  it.each([
    [['plan', '--range', '2021-11-31'], /2021-11-31 is not a date on the calendar/],
    [['plan', '--range', '2021-11-30..2021-11-01'], /the end comes before the start/],
    [['plan', '--range', '..2021-11-01'], /the start date is missing/],
    [['plan', '--range', '2021-11-01..2021-11-02', '--select', 'NOPE'], /unknown processor 'NOPE'/],
    [['explain', 'PCX', '2021-11-01'], /unknown processor 'PCX' \(did you mean 'PCF'\?\)/],
    [['explain', 'PCF', '2021-11-25'], /2021-11-25 is not a partition of the calendar 'schedule'/],
    [['plan', '--range', '2021-11-01', '--target', 'prod'], /unknown target 'prod'/],
  ])('usage error %j: one line, exit 2', async (args, message) => {
    const r = await runDag(args, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(looksLikeStackTrace(r.stderr)).toBe(false);
    expect(r.stdout).toBe('');
  });
});

describe('dag plan with a ledger', () => {
  it('fresh, stale after a source change, zero rows, code change, built outside dag', async () => {
    const pipeline = await loaded();
    const pdc = pipeline.nodes.get('PDC') as Processor;
    const now = Date.now();
    const warehouse = await openDuckdb(pipeline.targets.get('dev') as never, { env: {}, readOnly: false });
    try {
      const snapshot = await warehouse.readSnapshot(pipeline, ['schedule', 'boxscores', 'PDC']);
      await warehouse.recordSourceVersions(pipeline, snapshot, now - 3_600_000);
    } finally {
      await warehouse.close();
    }
    // PDC: 11-01..05 built by dag, 11-06 built with zero rows, 11-07 built by older code, 11-08 written by something else.
    await createTable(
      db,
      'precompute.pdc',
      'game_date',
      Object.fromEntries(['2021-11-01', '2021-11-02', '2021-11-03', '2021-11-04', '2021-11-05', '2021-11-07', '2021-11-08'].map((d) => [d, 2])),
    );
    const builtAt = new Date(now - 1_800_000).toISOString().replace('T', ' ').replace('Z', '');
    const row = (d: string, rows: number, fp: string): string => `('PDC', DATE '${d}', 'r1', TIMESTAMP '${builtAt}', ${rows}, '${fp}', 'x', 'precompute.pdc')`;
    const fp = codeFingerprint(pdc);
    await execSql(
      db,
      `INSERT INTO "_dag"."partitions" VALUES ${[...['2021-11-01', '2021-11-02', '2021-11-03', '2021-11-04', '2021-11-05'].map((d) => row(d, 2, fp)), row('2021-11-06', 0, fp), row('2021-11-07', 2, 'old')].join(', ')}`,
    );

    let plan = await planJson('2021-11-01..2021-11-08', ['--select', 'PDC']);
    let partitions = plan.processors[0]!.partitions;
    expect(plan.processors[0]!.counts).toEqual({ expected: 8, fresh: 7, missing: 0, stale: 1, build: 1, blocked: 0 });
    expect(partitions).toEqual([{ date: '2021-11-07', status: 'stale', action: 'build', reasons: [{ kind: 'code_changed', was: 'old', now: fp }] }]);

    await updatePartitionContent(db, 'raw.player_boxscores', 'game_date', '2021-11-03');
    plan = await planJson('2021-11-01..2021-11-08', ['--select', 'PDC+']);
    partitions = plan.processors.find((p) => p.name === 'PDC')!.partitions;
    expect(partitions.find((p) => p.date === '2021-11-03')).toEqual({
      date: '2021-11-03',
      status: 'stale',
      action: 'build',
      reasons: [{ kind: 'upstream_changed', upstream: 'boxscores', dates: ['2021-11-03'] }],
    });
    expect(partitions.map((p) => p.date)).toEqual(['2021-11-03', '2021-11-07']);

    const text = await runDag(['plan', '--range', '2021-11-01..2021-11-08', '--select', 'PDC'], { cwd: dir });
    expect(text.stdout).toContain('no ledger entry (built outside dag)');
    const why = await runDag(['explain', 'PDC', '2021-11-03'], { cwd: dir });
    expect(why.stdout.split('\n')[0]).toMatch(
      /^PDC 2021-11-03 is stale and will be rebuilt in batch 2021-11-03\.\.2021-11-03: upstream_changed: boxscores changed since it was built: boxscores 2021-11-03 changed since dag last recorded it, after PDC 2021-11-03 was built at 20/,
    );
  });
});
