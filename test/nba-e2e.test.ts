/**
 * The nba example end to end through the real `dag` binary: generate the season into a fresh DuckDB
 * file in a temp copy of the example, plan and run 2021-10-19..2021-11-20, and check what was built,
 * what is blocked and why, that a second run builds nothing, and that changing one day of raw box
 * scores makes stale (and rebuilds) exactly the partitions that read it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { looksLikeStackTrace, projectRoot, runDag, tempProject } from './support/cli.js';
import { withDuckdb } from './support/duckdb.js';

const RANGE = '2021-10-19..2021-11-20';
const PROCESSORS = ['TDZA', 'PSZA', 'PDC', 'PCF', 'MLFS'] as const;

/** Every ISO date from..to (inclusive), minus those listed. */
function dates(from: string, to: string, except: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += 86_400_000) {
    const iso = new Date(ms).toISOString().slice(0, 10);
    if (!except.includes(iso)) out.push(iso);
  }
  return out;
}

/** What the example must show over RANGE (33 game days): blocked dates, their category, and the rest built. */
const EXPECTED_BLOCKED: Record<(typeof PROCESSORS)[number], { dates: string[]; category: string }> = {
  // 15 calendar days back, at least 7 game days present: the first 6 game days lack history.
  TDZA: { dates: dates('2021-10-19', '2021-10-24'), category: 'INSUFFICIENT_HISTORY' },
  // 15 game days back, at least 10 present: the first 9 game days lack history.
  PSZA: { dates: dates('2021-10-19', '2021-10-27'), category: 'INSUFFICIENT_HISTORY' },
  // The missing box-score scrape of 2021-11-10.
  PDC: { dates: ['2021-11-10'], category: 'MISSING_DEPENDENCIES' },
  // Its upstreams are blocked on those dates.
  PCF: { dates: [...dates('2021-10-19', '2021-10-27'), '2021-11-10'], category: 'MISSING_DEPENDENCIES' },
  // ... and the day after PSZA's last blocked date (PSZA { offset: -1 }).
  MLFS: { dates: [...dates('2021-10-19', '2021-10-28'), '2021-11-10'], category: 'MISSING_DEPENDENCIES' },
};
const GAME_DAYS = 33;

interface PlanJson {
  processors: {
    name: string;
    counts: Record<string, number>;
    partitions: { date: string; status: string; action: string; category?: string; reasons?: { kind: string; upstream?: string; dates?: string[] }[] }[];
  }[];
  summary: Record<string, number>;
}

function copyExample(): string {
  const files: Record<string, string> = { 'pipeline.yaml': readFileSync(join(projectRoot, 'pipeline.yaml'), 'utf8') };
  for (const folder of ['sql', 'checks']) {
    const dir = join(projectRoot, 'pipelines', 'nba', folder);
    for (const name of readdirSync(dir)) files[`pipelines/nba/${folder}/${name}`] = readFileSync(join(dir, name), 'utf8');
  }
  return tempProject(files, 'dag-nba-e2e-');
}

async function dag(project: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runDag(args, { cwd: project });
  expect(looksLikeStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

async function planJson(project: string): Promise<PlanJson> {
  const result = await dag(project, 'plan', '--range', RANGE, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PlanJson;
}

/** Partition dates in the ledger per processor (optionally of one run only). */
async function ledger(db: string, runId?: string): Promise<Record<string, string[]>> {
  return withDuckdb(db, async (connection) => {
    const where = runId === undefined ? '' : `WHERE run_id = '${runId.replace(/'/g, "''")}'`;
    const reader = await connection.runAndReadAll(`SELECT processor, partition_date::VARCHAR AS day FROM "_dag"."partitions" ${where} ORDER BY processor, day`);
    const out: Record<string, string[]> = {};
    for (const row of reader.getRowObjectsJson() as { processor: string; day: string }[]) (out[row.processor] ??= []).push(row.day);
    return out;
  });
}

async function latestRunId(db: string): Promise<string> {
  return withDuckdb(db, async (connection) => {
    const reader = await connection.runAndReadAll(`SELECT run_id FROM "_dag"."runs" ORDER BY started_at DESC LIMIT 1`);
    const [row] = reader.getRowObjectsJson() as { run_id: string }[];
    if (!row) throw new Error('no run recorded');
    return row.run_id;
  });
}

describe('nba example end to end', () => {
  let project: string;
  let db: string;

  beforeAll(() => {
    project = copyExample();
    db = join(project, '.dag', 'nba.duckdb');
    const generated = spawnSync(process.execPath, [join(projectRoot, 'pipelines', 'nba', 'generate.mjs'), '--db', db, '--quiet']);
    if (generated.status !== 0) throw new Error(`generate.mjs failed: ${generated.stderr.toString()}`);
  });

  it('plans the season start: early dates blocked for history, 2021-11-10 for the missing scrape', async () => {
    const plan = await planJson(project);
    for (const name of PROCESSORS) {
      const processor = plan.processors.find((p) => p.name === name);
      const expected = EXPECTED_BLOCKED[name];
      const blocked = processor?.partitions.filter((p) => p.action === 'blocked') ?? [];
      expect(
        blocked.map((p) => p.date),
        name,
      ).toEqual(expected.dates);
      expect(new Set(blocked.map((p) => p.category)), name).toEqual(new Set([expected.category]));
      expect(processor?.counts, name).toMatchObject({ expected: GAME_DAYS, fresh: 0, missing: GAME_DAYS, build: GAME_DAYS - expected.dates.length });
    }
  });

  it('runs: builds every buildable partition once, records them, and a second run builds nothing', async () => {
    const first = await dag(project, 'run', '--range', RANGE);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const built = await ledger(db);
    for (const name of PROCESSORS) {
      const buildable = dates('2021-10-19', '2021-11-20', ['2021-11-25', ...EXPECTED_BLOCKED[name].dates]);
      expect(built[name], name).toEqual(buildable);
    }
    const after = await planJson(project);
    expect(after.summary).toMatchObject({ build: 0, stale: 0, blocked: 37 });
    const grid = await dag(project, 'plan', '--range', RANGE, '--grid');
    const rows = grid.stdout.split('\n');
    // One column per day from 10-19: ten blocked MLFS days, then fresh; 11-10 (column 22) blocked.
    expect(rows.findLast((l) => l.startsWith('MLFS'))).toMatch(/^MLFS {2}B{10}={12}B={10} {2}22\/33 fresh {2}blocked 11$/);
    expect(rows.findLast((l) => l.startsWith('PDC'))).toMatch(/^PDC {3}={22}B={10} {2}32\/33 fresh {2}blocked 1$/);
    const second = await dag(project, 'run', '--range', RANGE, '--json');
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(second.stdout) as { outcome: string; processors: { name: string; built: string[]; blocked: string[] }[] };
    expect(result.outcome).toBe('success');
    for (const processor of result.processors) {
      expect(processor.built, processor.name).toEqual([]);
      expect(processor.blocked, processor.name).toEqual(EXPECTED_BLOCKED[processor.name as (typeof PROCESSORS)[number]].dates);
    }
    expect(await ledger(db, await latestRunId(db))).toEqual({});
  });

  it('explains an early MLFS date down to the lookback that lacks history', async () => {
    const result = await dag(project, 'explain', 'MLFS', '2021-10-20');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('INSUFFICIENT_HISTORY');
    expect(result.stdout).toMatch(/PSZA|TDZA/);
    const gap = await dag(project, 'explain', 'MLFS', '2021-11-10');
    expect(gap.stdout).toContain('boxscores');
    expect(gap.stdout).toContain('2021-11-10');
  });

  it('a changed day of raw box scores makes stale exactly what reads it, and only that is rebuilt', async () => {
    await withDuckdb(db, (connection) =>
      connection.run(`UPDATE raw.player_boxscores SET points = points + 1 WHERE game_date = DATE '2021-11-15' AND player_id = 'BOS-01'`),
    );
    const plan = await planJson(project);
    const week = dates('2021-11-15', '2021-11-20');
    const expectedStale: Record<string, string[]> = { TDZA: week, PSZA: week, PDC: ['2021-11-15'], PCF: week, MLFS: week };
    for (const name of PROCESSORS) {
      const stale = plan.processors.find((p) => p.name === name)?.partitions.filter((p) => p.status === 'stale') ?? [];
      expect(
        stale.map((p) => p.date),
        name,
      ).toEqual(expectedStale[name]);
      expect(
        stale.every((p) => p.action === 'build'),
        name,
      ).toBe(true);
    }
    const tdza = plan.processors.find((p) => p.name === 'TDZA')?.partitions.find((p) => p.date === '2021-11-20');
    expect(tdza?.reasons).toContainEqual({ kind: 'upstream_changed', upstream: 'boxscores', dates: ['2021-11-15'] });
    const pcf = plan.processors.find((p) => p.name === 'PCF')?.partitions.find((p) => p.date === '2021-11-16');
    expect(pcf?.reasons?.map((r) => r.kind)).toContain('upstream_rebuilt');

    const rerun = await dag(project, 'run', '--range', RANGE);
    expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
    expect(await ledger(db, await latestRunId(db))).toEqual(expectedStale);
    expect((await planJson(project)).summary).toMatchObject({ build: 0, stale: 0 });
  });
});

describe('nba example with a planted bad day (generate.mjs --bad-day)', () => {
  it('PDC 2021-11-17 fails its unique check with the sample row, is not committed, PCF and MLFS of that day are blocked, explain walks back to it', async () => {
    const project = copyExample();
    const db = join(project, '.dag', 'nba.duckdb');
    const generated = spawnSync(process.execPath, [join(projectRoot, 'pipelines', 'nba', 'generate.mjs'), '--db', db, '--quiet', '--bad-day', '2021-11-17']);
    expect(generated.status, generated.stderr.toString()).toBe(0);
    const run = await dag(project, 'run', '--range', RANGE);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^failed PDC 2021-11-17 CHECK_FAILED: check unique\(player_id,game_date\) found 1 offending row, e\.g\. \{"game_date":"2021-11-17","player_id":"[A-Z]{3}-\d\d","copies":2\}/m,
    );
    expect(run.stdout).toMatch(/not built because an upstream partition failed[\s\S]*PCF 2021-11-17\n\s+MLFS 2021-11-17/);
    const built = await ledger(db);
    expect(built.PDC).not.toContain('2021-11-17');
    expect(built.PDC).toContain('2021-11-16');
    expect(built.MLFS).not.toContain('2021-11-17');
    const explain = await dag(project, 'explain', 'MLFS', '2021-11-17');
    expect(explain.stdout).toContain('MLFS 2021-11-17 reads partitions whose last build failed a check');
    expect(explain.stdout).toMatch(/PDC 2021-11-17: last build failed check unique\(player_id,game_date\)/);
  });
});
