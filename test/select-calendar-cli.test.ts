/**
 * Selections tell the truth and silence is never the answer (issue 10, items 6-8), through the real
 * CLI on a real DuckDB file: a plan over a selection reports unselected upstream processors that are
 * not fresh; repeated --select options add up; a calendar with no partition in the range, or ending
 * before it, warns, fails `plan --exit-code`, reaches --json and is a daily-mode stale-data post;
 * --force parses on plan and run.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { looksLikeStackTrace, runDag, tempProject, type DagResult } from './support/cli.js';
import { createTable, deletePartition, updatePartitionContent } from './support/duckdb.js';
import { startWebhookServer, type WebhookServer } from './support/webhook.js';

const count = (...from: string[]): string =>
  `SELECT game_date, count(*)::INTEGER AS n FROM (${from.map((f) => `SELECT game_date FROM {{ ref('${f}') }}`).join(' UNION ALL ')})\nWHERE game_date BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n`;

/** schedule -> PDC (boxscores, schedule) -> PCF -> MLFS (PCF, PDC): the seed's spine, small. */
function yaml(top = ''): string {
  return `version: 1
name: truth
targets:
  dev: { type: duckdb, path: w.duckdb }
default_target: dev
calendar: schedule
defaults: { partition_column: game_date, batch_size: 31 }
${top}
sources:
  schedule: { table: raw.schedule }
  boxscores: { table: raw.boxscores }
processors:
  PDC:
    table: p.pdc
    upstream: [boxscores, schedule]
    sql: sql/pdc.sql
  PCF:
    table: p.pcf
    upstream: [PDC]
    sql: sql/pcf.sql
  MLFS:
    table: p.mlfs
    upstream: { PCF: same, PDC: same }
    sql: sql/mlfs.sql
`;
}

function days(start: number, end: number, except: readonly number[] = []): string[] {
  const out: string[] = [];
  for (let d = start; d <= end; d++) if (!except.includes(d)) out.push(`2021-11-${String(d).padStart(2, '0')}`);
  return out;
}

const dirs: string[] = [];
let servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Project {
  readonly db: string;
  dag(...args: string[]): Promise<DagResult>;
}

/** The schedule holds 2021-11-01..10 except `gaps`; box scores every scheduled day. */
async function project(top = '', gaps: readonly number[] = []): Promise<Project> {
  const dir = tempProject(
    { 'pipeline.yaml': yaml(top), 'sql/pdc.sql': count('boxscores', 'schedule'), 'sql/pcf.sql': count('PDC'), 'sql/mlfs.sql': count('PCF', 'PDC') },
    'dag-truth-',
  );
  dirs.push(dir);
  const db = join(dir, 'w.duckdb');
  const scheduled = days(1, 10, gaps);
  await createTable(db, 'raw.schedule', 'game_date', Object.fromEntries(scheduled.map((d) => [d, 2])));
  await createTable(db, 'raw.boxscores', 'game_date', Object.fromEntries(scheduled.map((d) => [d, 3])));
  return { db, dag: (...args) => runDag(args, { cwd: dir, timeoutMs: 90_000 }) };
}

async function built(top = '', gaps: readonly number[] = []): Promise<Project> {
  const p = await project(top, gaps);
  const run = await p.dag('run', '--range', '2021-11-01..2021-11-10');
  expect(run.code, run.stderr).toBe(0);
  return p;
}

type PlanJson = {
  processors: { name: string; counts: Record<string, number> }[];
  unselected_upstream: { name: string; read_by: string[]; include: string; counts: Record<string, number> }[];
  warnings: string[];
};

function json(r: DagResult): PlanJson {
  expect(looksLikeStackTrace(r.stderr)).toBe(false);
  return JSON.parse(r.stdout) as PlanJson;
}

describe('a plan over a selection reports unselected upstream processors that are not fresh', () => {
  it('--select MLFS after a box-score change and a lost PCF partition: text, --json, --exit-code, run', async () => {
    const p = await built();
    await updatePartitionContent(p.db, 'raw.boxscores', 'game_date', '2021-11-03');

    // The issue's case: MLFS itself looks fresh (its upstream are taken as they are).
    const text = await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('note: unselected upstream PDC has 1 stale partition in 2021-11-01..2021-11-10 that MLFS reads; --select +MLFS includes it');
    expect(text.stdout).toContain('note: unselected upstream PCF has 1 stale partition in 2021-11-01..2021-11-10 that MLFS reads; --select +MLFS includes it');
    expect(text.stdout).not.toContain('everything is fresh');
    expect(text.stdout).toContain('nothing to build in the selection, but 2 unselected upstream processors are not fresh.');
    expect((await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS', '--exit-code')).code).toBe(1);

    await deletePartition(p.db, 'p.pcf', 'game_date', '2021-11-06');
    const both = await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS');
    expect(both.stdout).toContain(
      'note: unselected upstream PCF has 1 stale, 1 missing partitions in 2021-11-01..2021-11-10 that MLFS reads; --select +MLFS includes them',
    );

    const plan = json(await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS', '--json'));
    expect(plan.processors.map((x) => x.name)).toEqual(['MLFS']);
    expect(plan.unselected_upstream).toEqual([
      { name: 'PDC', read_by: ['MLFS'], include: '+MLFS', counts: { read: 10, fresh: 9, missing: 0, stale: 1, build: 1, blocked: 0 } },
      { name: 'PCF', read_by: ['MLFS'], include: '+MLFS', counts: { read: 10, fresh: 8, missing: 1, stale: 1, build: 2, blocked: 0 } },
    ]);
    expect(plan.warnings).toEqual([]);

    // The +NAME it names does include them: nothing unselected is left to report.
    const whole = json(await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', '+MLFS', '--json'));
    expect(whole.unselected_upstream).toEqual([]);
    expect(whole.processors.find((x) => x.name === 'PCF')!.counts).toMatchObject({ missing: 1, stale: 1 });

    // Only the days the selection reads count: PCF over one day.
    const oneDay = json(await p.dag('plan', '--range', '2021-11-06', '--select', 'MLFS', '--json'));
    expect(oneDay.unselected_upstream.map((g) => [g.name, g.counts])).toEqual([['PCF', { read: 1, fresh: 0, missing: 1, stale: 0, build: 1, blocked: 0 }]]);

    const run = await p.dag('run', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      'dag: note: unselected upstream PCF has 1 stale, 1 missing partitions in 2021-11-01..2021-11-10 that MLFS reads; --select +MLFS includes them',
    );
  });

  it('names the nearest selected reader, and stays quiet when the upstream is fresh', async () => {
    const p = await built();
    const fresh = await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'MLFS', '--exit-code');
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(fresh.stdout).toContain('everything is fresh: nothing to build');
    expect(fresh.stdout).not.toContain('Unselected upstream');

    await updatePartitionContent(p.db, 'raw.boxscores', 'game_date', '2021-11-04');
    // PCF and MLFS are selected; PDC is read by both: PCF reads it most directly (first in order).
    const plan = json(await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--select', 'PCF,MLFS', '--json'));
    expect(plan.unselected_upstream.map((g) => [g.name, g.read_by, g.include, g.counts.stale])).toEqual([['PDC', ['PCF', 'MLFS'], '+PCF', 1]]);
  });
});

describe('repeated --select options add up', () => {
  it('plan: --select PDC --select MLFS is --select PDC,MLFS; run builds what both name', async () => {
    const p = await project();
    const repeated = json(await p.dag('plan', '--range', '2021-11-01..2021-11-03', '--select', 'PDC', '--select', 'MLFS', '--json'));
    const comma = json(await p.dag('plan', '--range', '2021-11-01..2021-11-03', '--select', 'PDC,MLFS', '--json'));
    expect(repeated.processors.map((x) => x.name)).toEqual(['PDC', 'MLFS']);
    expect(repeated.processors).toEqual(comma.processors);

    const run = await p.dag('run', '--range', '2021-11-01..2021-11-03', '--select', 'PDC', '--select', 'PCF', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { processors: { name: string; built: string[] }[] };
    expect(result.processors.map((x) => [x.name, x.built.length])).toEqual([
      ['PDC', 3],
      ['PCF', 3],
    ]);

    const bad = await p.dag('plan', '--range', '2021-11-01', '--select', 'PDC', '--select', 'NOPE');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown processor 'NOPE'");
  });
});

describe('a calendar behind the range is never silent', () => {
  it('no partition in the range: a warning, --exit-code 1, --json warnings, no "everything is fresh"', async () => {
    const p = await built();
    const expected =
      "dag: warning: the calendar 'schedule' has no partition in 2021-11-15..2021-11-20 (its last is 2021-11-10): a late schedule load? nothing is expected there\n";
    const text = await p.dag('plan', '--range', '2021-11-15..2021-11-20');
    expect(text.code).toBe(0);
    expect(text.stderr).toBe(expected);
    expect(text.stdout).not.toContain('everything is fresh');
    expect(text.stdout).toContain('nothing to build, with 1 warning (on stderr).');

    const exit = await p.dag('plan', '--range', '2021-11-15..2021-11-20', '--exit-code');
    expect(exit.code).toBe(1);
    const plan = json(await p.dag('plan', '--range', '2021-11-15..2021-11-20', '--json'));
    expect(plan.warnings).toEqual([expected.slice('dag: warning: '.length, -1)]);
  });

  it('ending before the range does, or a break in it, is worded for what it is', async () => {
    const p = await built('', [7]);
    const ends = await p.dag('plan', '--range', '2021-11-08..2021-11-14', '--exit-code');
    expect(ends.code).toBe(1);
    expect(ends.stderr).toBe(
      "dag: warning: the calendar 'schedule' ends on 2021-11-10, before the range's end 2021-11-14: a late schedule load? nothing is expected in 2021-11-11..2021-11-14\n",
    );
    const gap = await p.dag('plan', '--range', '2021-11-07');
    expect(gap.stderr).toBe(
      "dag: warning: the calendar 'schedule' has no partition in 2021-11-07..2021-11-07 (none between 2021-11-06 and 2021-11-08): nothing is expected there\n",
    );
    const covered = await p.dag('plan', '--range', '2021-11-01..2021-11-10', '--exit-code');
    expect(covered.code, covered.stdout).toBe(0);
    expect(covered.stderr).toBe('');
  });

  it('daily mode posts it as stale data; every run ends its summary with it', async () => {
    const hook = await startWebhookServer();
    servers.push(hook);
    const p = await built(`notify: { webhook: "${hook.url}" }`);
    hook.posts.length = 0;
    const message =
      "the calendar 'schedule' has no partition in 2021-11-15..2021-11-16 (its last is 2021-11-10): a late schedule load? nothing is expected there";

    const daily = await p.dag('run', '--range', '2021-11-15..2021-11-16', '--mode', 'daily');
    expect(daily.code, daily.stderr).toBe(0);
    expect(daily.stderr).toContain(`dag: warning: ${message}\n`);
    expect(daily.stdout.trimEnd().split('\n').at(-1)).toBe(`warning: ${message}`);
    const posts = hook.posts as Record<string, unknown>[];
    const stale = posts.find((x) => x.event === 'stale_data');
    const summary = posts.find((x) => x.event === 'summary');
    expect(posts).toHaveLength(2);
    expect(stale).toMatchObject({
      event: 'stale_data',
      pipeline: 'truth',
      target: 'dev',
      source: 'schedule',
      calendar: true,
      dates: [],
      uncovered: { start: '2021-11-15', end: '2021-11-16' },
      last: '2021-11-10',
      message,
    });
    expect(summary).toMatchObject({ event: 'summary', warnings: [message] });

    hook.posts.length = 0;
    const backfill = await p.dag('run', '--range', '2021-11-15..2021-11-16', '--json');
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(JSON.parse(backfill.stdout)).toMatchObject({ warnings: [message] });
    expect(hook.posts.map((x) => (x as { event: string }).event)).toEqual(['summary']);
  });
});

describe('--force', () => {
  it('parses on plan and run and is in their help', async () => {
    const p = await built();
    for (const verb of ['plan', 'run']) {
      const help = await p.dag(verb, '--help');
      expect(help.stdout).toMatch(/--force\s+take every present partition of the/);
    }
    const plan = await p.dag('plan', '--range', '2021-11-01..2021-11-02', '--select', 'PDC', '--force', '--json');
    expect(plan.code, plan.stderr).toBe(0);
    expect(json(plan).processors.map((x) => x.name)).toEqual(['PDC']);
    const run = await p.dag('run', '--range', '2021-11-01..2021-11-02', '--select', 'PDC', '--force', '--json');
    expect(run.code, run.stderr).toBe(0);
  });

  it('rebuilds every selected partition in the range (reason forced); readers follow as upstream_rebuilt', async () => {
    const p = await built();
    const plan = JSON.parse((await p.dag('plan', '--range', '2021-11-01..2021-11-02', '--select', 'PDC+', '--force', '--json')).stdout) as {
      processors: { name: string; counts: Record<string, number>; partitions: { date: string; reasons?: { kind: string }[] }[] }[];
    };
    const pdc = plan.processors.find((x) => x.name === 'PDC')!;
    expect(pdc.counts).toMatchObject({ stale: 2, build: 2 });
    expect(pdc.partitions.map((x) => x.reasons?.map((r) => r.kind))).toEqual([['forced'], ['forced']]);
    const pcf = plan.processors.find((x) => x.name === 'PCF')!;
    expect(pcf.partitions[0]!.reasons?.map((r) => r.kind)).toContain('upstream_rebuilt');
    const run = await p.dag('run', '--range', '2021-11-01..2021-11-02', '--select', 'PDC', '--force', '--json');
    expect((JSON.parse(run.stdout) as { totals: { built: number } }).totals.built).toBe(2);
  });
});
