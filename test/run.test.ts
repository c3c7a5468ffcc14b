/**
 * `dag run` through the real CLI on a real DuckDB file: builds what plan shows, idempotence, failure
 * isolation, splitting a failed batch in halves, out-of-range rows, a command processor writing via DAG_DUCKDB_PATH,
 * NO_OUTPUT, logs, and usage errors.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { execSql, queryRows } from './support/duckdb.js';
import {
  copySql,
  countsByDay,
  duckdbScript,
  isoDay,
  ledgerByDay,
  makeProject,
  parseRunJson,
  pipelineYaml,
  processorOf,
  sourceRows,
  tableExists,
} from './fixtures/run/project.js';

const chain = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  B:
    table: p.b
    upstream: [A]
    sql: sql/b.sql
`);

describe('dag run', () => {
  it('builds exactly what plan shows, records it, and a second run builds nothing', async () => {
    const project = await makeProject(chain, { 'sql/a.sql': copySql('src'), 'sql/b.sql': copySql('A', ", 'b' as tag") }, 10, [7]);
    const planned = JSON.parse((await project.dag(['plan', '--range', '2021-11-01..2021-11-10', '--json'])).stdout);
    const toBuild = (name: string) => planned.processors.find((p: { name: string }) => p.name === name).counts.build;

    const first = await project.dag(['run', '--range', '2021-11-01..2021-11-10', '--json']);
    expect(first.code, first.stderr).toBe(1 - 1);
    const json = parseRunJson(first);
    expect(processorOf(json, 'A').built).toHaveLength(toBuild('A'));
    expect(processorOf(json, 'A').built).not.toContain(isoDay(7));
    // The source gap on day 7 blocks A and B there: reported, not a failure.
    expect(processorOf(json, 'A').blocked).toEqual([isoDay(7)]);
    expect(processorOf(json, 'B').blocked).toEqual([isoDay(7)]);
    expect(json.totals).toMatchObject({ built: 18, failed: 0, blocked: 2, upstream_failed: 0 });
    // Batches of 3 split around the gap: A 1-3, 4-6, 7, 9-10 → 4 jobs each (ranges of calendar days).
    expect(json.totals.jobs).toBeGreaterThanOrEqual(6);

    const data = await countsByDay(project.db, 'p.b');
    const ledger = await ledgerByDay(project.db, 'B');
    expect(data).toEqual(ledger);
    expect(data.get(isoDay(4))).toBe(sourceRows(4));
    const runs = await queryRows(project.db, `select outcome from _dag.runs where run_id = '${json.run_id}' and ended_at is not null`);
    expect(runs.map((r) => r.outcome)).toEqual(['success']);

    const second = parseRunJson(await project.dag(['run', '--range', '2021-11-01..2021-11-10', '--json']));
    expect(second.totals.built).toBe(0);
    expect(second.totals.jobs).toBe(0);
    const after = JSON.parse((await project.dag(['plan', '--range', '2021-11-01..2021-11-10', '--json'])).stdout);
    expect(after.summary).toMatchObject({ build: 0, blocked: 2 });
  });

  it('on a fresh folder with no data yet: takes its lock, builds nothing, and says the calendar is absent', async () => {
    // No .dag/ folder and no source tables: the lock's folder must be created, and an absent calendar
    // must be said out loud rather than reported as "nothing expected, all fresh".
    const dir = tempProject({
      'pipeline.yaml':
        'version: 1\nname: fresh\ntargets: { dev: { type: duckdb, path: .dag/fresh.duckdb } }\ncalendar: games\ndefaults: { partition_column: d }\nsources:\n  games: { table: raw.games }\nprocessors:\n  P: { table: out.p, upstream: [games], sql: p.sql }\n',
      'p.sql': "SELECT d FROM {{ ref('games') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }}\n",
    });
    const run = await runDag(['run', '--range', '2021-11-01..2021-11-02'], { cwd: dir });
    expect(run.stderr).toContain("dag: warning: the calendar 'games' (table raw.games) does not exist in target 'dev', so no partition is expected");
    expect(run.code).toBe(0);
    expect(looksLikeStackTrace(run.stderr)).toBe(false);
    const plan = await runDag(['plan', '--range', '2021-11-01..2021-11-02'], { cwd: dir });
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain("the calendar 'games' (table raw.games) does not exist");
  });

  it('text output: one line per finished batch and a summary table with the run id', async () => {
    const project = await makeProject(chain, { 'sql/a.sql': copySql('src'), 'sql/b.sql': copySql('A') }, 4);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-04']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^built {2}A 2021-11-01\.\.2021-11-03 \(3 partitions, /m);
    expect(result.stdout).toMatch(/^run \S+ on target dev, 2021-11-01\.\.2021-11-04: success$/m);
    expect(result.stdout).toMatch(/^total\s+8\s+-\s+0\s+0$/m);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('isolates a failure: the sibling builds, descendants are UPSTREAM_FAILED and untouched, exit 1', async () => {
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  BAD:
    table: p.bad
    upstream: [A]
    sql: sql/bad.sql
  SIB:
    table: p.sib
    upstream: [A]
    sql: sql/sib.sql
  CHILD:
    table: p.child
    upstream: [BAD, SIB]
    sql: sql/child.sql
`);
    const project = await makeProject(
      yaml,
      {
        'sql/a.sql': copySql('src'),
        'sql/bad.sql': "select d, id, no_such_column from {{ ref('A') }} where d between {{ start_date }} and {{ end_date }}\n",
        'sql/sib.sql': copySql('A'),
        'sql/child.sql':
          "select s.d, s.id, s.payload from {{ ref('SIB') }} s join {{ ref('BAD') }} b using (d, id) where s.d between {{ start_date }} and {{ end_date }}\n",
      },
      5,
    );
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-05', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const json = parseRunJson(result);
    expect(processorOf(json, 'SIB').built).toHaveLength(5);
    expect(new Set(processorOf(json, 'BAD').failed.map((f) => f.category))).toEqual(new Set(['PROCESSOR_ERROR']));
    expect(processorOf(json, 'BAD').failed[0]?.message).toMatch(/no_such_column/);
    expect(processorOf(json, 'CHILD').upstream_failed).toHaveLength(5);
    expect(await tableExists(project.db, 'p', 'child')).toBe(false);
    const failures = await queryRows(
      project.db,
      `select processor, category, count(*)::INTEGER as n from _dag.failures where run_id = '${json.run_id}' and processor in ('BAD', 'CHILD') group by 1, 2 order by 1`,
    );
    expect(failures).toEqual([
      { processor: 'BAD', category: 'PROCESSOR_ERROR', n: expect.any(Number) },
      { processor: 'CHILD', category: 'UPSTREAM_FAILED', n: 5 },
    ]);
    const runs = await queryRows(project.db, `select outcome from _dag.runs where run_id = '${json.run_id}' and ended_at is not null`);
    expect(runs).toEqual([{ outcome: 'failed' }]);
  });

  it('splits a failed batch in halves: one bad day does not sink the others', async () => {
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: 5
`);
    // DuckDB's error() fails the whole query when it meets a row of 2021-11-03.
    const sql =
      "select d, id, case when d = DATE '2021-11-03' then error('bad data on 11-03') else payload end as payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n";
    const project = await makeProject(yaml, { 'sql/a.sql': sql }, 5);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-05']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^split {2}A 2021-11-01\.\.2021-11-05 failed as a batch after \d+\.\ds \(PROCESSOR_ERROR\); retrying it in halves$/m);
    expect(result.stdout).toMatch(/^failed A 2021-11-03 PROCESSOR_ERROR after \d+\.\ds: Invalid Input Error: bad data on 11-03$/m);
    // 1..5 fails; 1..3 fails, 4..5 builds; 1..2 builds, 3 fails: 5 jobs.
    expect(result.stdout).toMatch(/^5 jobs, /m);
    expect([...(await countsByDay(project.db, 'p.a')).keys()]).toEqual([isoDay(0), isoDay(1), isoDay(3), isoDay(4)]);
    expect([...(await ledgerByDay(project.db, 'A')).keys()]).toEqual([isoDay(0), isoDay(1), isoDay(3), isoDay(4)]);
  });

  it('rejects a batch whose SELECT yields rows outside start..end, writing nothing', async () => {
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: 1
`);
    const sql = "select (d + 1)::DATE as d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n";
    const project = await makeProject(yaml, { 'sql/a.sql': sql }, 2);
    const json = parseRunJson(await project.dag(['run', '--range', '2021-11-01..2021-11-02', '--json']));
    expect(processorOf(json, 'A').failed.map((f) => f.category)).toEqual(['OUT_OF_RANGE_ROWS', 'OUT_OF_RANGE_ROWS']);
    expect((await ledgerByDay(project.db, 'A')).size).toBe(0);
    expect((await tableExists(project.db, 'p', 'a')) ? (await countsByDay(project.db, 'p.a')).size : 0).toBe(0);
  });

  it('a source whose versions cannot be computed fails its readers, not the run: summary, ledger, lock all fine', async () => {
    // raw.bad is a view whose hash (every column) fails at run time though a plan (counts only) reads it.
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  B:
    table: p.b
    upstream: [bad]
    sql: sql/b.sql
`).replace('sources:\n', 'sources:\n  bad: { table: raw.bad }\n');
    const project = await makeProject(
      yaml,
      {
        'sql/a.sql': copySql('src'),
        'sql/b.sql': "select d, count(*) as n from {{ ref('bad') }} where d between {{ start_date }} and {{ end_date }} group by 1\n",
      },
      3,
    );
    await execSql(project.db, `CREATE VIEW raw.bad AS SELECT d, CAST(CASE WHEN id = 1 THEN 'oops' ELSE '1' END AS INTEGER) AS broken FROM raw.src`);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-03', '--json']);
    expect(looksLikeStackTrace(result.stderr), result.stderr).toBe(false);
    expect(result.code, result.stderr).toBe(1);
    const json = parseRunJson(result);
    expect(processorOf(json, 'A').built).toEqual(['2021-11-01', '2021-11-02', '2021-11-03']);
    expect(processorOf(json, 'B').failed.map((f) => f.message)).toEqual(
      Array(3).fill(expect.stringContaining("could not record the versions of source 'bad', which it reads: Conversion Error")),
    );
    expect(result.stderr).toContain("dag: warning: could not record the versions of source 'bad': Conversion Error");
    expect(existsSync(`${project.db}.lock`)).toBe(false);
    expect(await queryRows(project.db, `SELECT outcome FROM _dag.runs`)).toEqual([{ outcome: 'failed' }]);
    expect((await ledgerByDay(project.db, 'B')).size).toBe(0);
  });

  it('runs a command processor that writes rows into the DuckDB file via DAG_DUCKDB_PATH', async () => {
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  CMD:
    table: p.cmd
    upstream: [A]
    command: [node, jobs/cmd.mjs, --from, "{start}", --to, "{end}", --target, "{target}"]
    batch_size: 2
`);
    const script = duckdbScript(`
const [from, to, target] = [process.argv[3], process.argv[5], process.argv[7]];
if (from !== process.env.DAG_START_DATE || to !== process.env.DAG_END_DATE || target !== process.env.DAG_TARGET) throw new Error('argv and env disagree');
console.log('run', process.env.DAG_RUN_ID, 'processor', process.env.DAG_PROCESSOR, 'table', process.env.DAG_TABLE);
await db.run("create schema if not exists p");
await db.run("create table if not exists p.cmd (d DATE, id INTEGER, who VARCHAR)");
await db.run(\`delete from p.cmd where d between DATE '\${from}' and DATE '\${to}'\`);
// Leaves 2021-11-04 empty on purpose: NO_OUTPUT.
await db.run(\`insert into p.cmd select d, id, '\${process.env.DAG_PROCESSOR}' from p.a where d between DATE '\${from}' and DATE '\${to}' and d <> DATE '2021-11-04'\`);
`);
    const project = await makeProject(yaml, { 'sql/a.sql': copySql('src'), 'jobs/cmd.mjs': script }, 4);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-04', '--json']);
    const json = parseRunJson(result);
    expect(processorOf(json, 'CMD').built).toEqual([isoDay(0), isoDay(1), isoDay(2)]);
    expect(processorOf(json, 'CMD').failed).toEqual([{ date: isoDay(3), category: 'NO_OUTPUT', message: expect.stringMatching(/allow_empty/) }]);
    expect(result.code).toBe(1);
    expect(await countsByDay(project.db, 'p.cmd')).toEqual(await ledgerByDay(project.db, 'CMD'));
    // Its output went to .dag/logs/<run>/<processor>/<start>_<end>.log.
    const logs = join(project.dir, '.dag', 'logs', json.run_id, 'CMD');
    expect(readdirSync(logs).sort()).toEqual(['2021-11-01_2021-11-02.log', '2021-11-03_2021-11-04.log']);
    expect(readFileSync(join(logs, '2021-11-01_2021-11-02.log'), 'utf8')).toContain(`run ${json.run_id} processor CMD table p.cmd`);
  });

  it('shows the log tail when a command exits non-zero (PROCESSOR_ERROR, not retried, split once)', async () => {
    const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, -e, "console.log('step one'); console.error('boom: the API said 500'); process.exit(3)"]
    retries: 3
`);
    const project = await makeProject(yaml, {}, 2);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-02']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^split {2}CMD 2021-11-01\.\.2021-11-02 failed as a batch after \d+\.\ds \(PROCESSOR_ERROR\); retrying it in halves$/m);
    expect(result.stdout).toMatch(/^failed CMD 2021-11-01 PROCESSOR_ERROR after \d+\.\ds: `node -e .*` exited with code 3 \(log: \.dag\/logs\/.*\.log\)$/m);
    // Both halves failed like the batch: one summary line with both dates and the log tail.
    expect(result.stdout).toMatch(/^ {2}CMD PROCESSOR_ERROR ×2 2021-11-01\.\.02: .* exited with code 3 .*; last lines:$/m);
    expect(result.stdout).toContain('  | boom: the API said 500');
    // Not retried (retries: 3 is for transient errors), but split: the batch, then each half.
    expect(result.stdout).not.toMatch(/^retry/m);
    expect(result.stdout).toMatch(/^3 jobs, /m);
    expect(looksLikeStackTrace(result.stdout + result.stderr)).toBe(false);
  });

  it('refuses bad flags with exit 2 and one line', async () => {
    const project = await makeProject(chain, { 'sql/a.sql': copySql('src'), 'sql/b.sql': copySql('A') }, 1);
    for (const args of [
      ['--concurrency', '0'],
      ['--mode', 'weekly'],
      ['--wait', 'soon'],
    ]) {
      const result = await project.dag(['run', '--range', '2021-11-01', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^dag: --/);
      expect(looksLikeStackTrace(result.stderr)).toBe(false);
    }
    expect(existsSync(join(project.dir, '.dag', 'logs'))).toBe(false);
  });
});
