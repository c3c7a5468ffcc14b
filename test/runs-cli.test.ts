/**
 * `dag runs` and `dag explain`'s last failure, through the real CLI on a real DuckDB file: a run in
 * which a SQL processor fails on one day (a conversion error, split down to that day) and a command
 * processor fails on another; then a run with the SQL fixed (the command still failing); then one
 * with the command fixed. The run list, one run's details, the failed partitions with their "built
 * since", the JSON against schema/runs-output.schema.json, and explain naming the failure.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from './support/cli.js';
import { duckdbScript, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';

const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  C:
    table: p.c
    upstream: [src]
    command: [node, jobs/c.mjs]
    batch_size: 10
    retries: 0
`);

const badSql = `select d, id, payload, CAST(CASE WHEN d = DATE '2021-11-05' THEN 'x' ELSE '1' END AS INTEGER) AS k from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`;
const goodSql = badSql.replace(`THEN 'x'`, `THEN '2'`);

/** Fails any batch covering 2021-11-07 while the file fail-c exists; else writes one row per day. */
const command = duckdbScript(`
import { existsSync } from 'node:fs';
const from = process.env.DAG_START_DATE, to = process.env.DAG_END_DATE;
if (existsSync('fail-c') && from <= '2021-11-07' && '2021-11-07' <= to) { console.error('the API said 500 for 2021-11-07'); process.exit(3); }
await db.run("create schema if not exists p");
await db.run("create table if not exists p.c (d DATE)");
await db.run(\`delete from p.c where d between DATE '\${from}' and DATE '\${to}'\`);
await db.run(\`insert into p.c select unnest(range(DATE '\${from}', DATE '\${to}' + 1, INTERVAL 1 DAY))::DATE\`);
`);

const RANGE = '2021-11-01..2021-11-10';

interface RunJson {
  run_id: string;
  outcome: string;
  range: { start: string; end: string } | null;
  counts: { built: number; failed: number; upstream_failed: number; blocked: number } | null;
  command_line: string;
}
interface FailureJson {
  run_id: string;
  processor: string;
  date: string;
  category: string;
  message: string;
  built_since: { run_id: string } | null;
}

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'runs-output.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

function parsed<T>(stdout: string): T {
  const json = JSON.parse(stdout) as T;
  expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
  return json;
}

describe('dag runs and explain after failures (DuckDB)', () => {
  let project: Project;
  let first: string;
  let second: string;

  beforeAll(async () => {
    project = await makeProject(yaml, { 'sql/a.sql': badSql, 'jobs/c.mjs': command, 'fail-c': '' }, 10);
    const run1 = await project.dag(['run', '--range', RANGE]);
    expect(run1.code, run1.stdout + run1.stderr).toBe(1);
  }, 180_000);

  it('explain names the last failure of a missing SQL partition and of a command partition left unfinished', async () => {
    const list = parsed<{ runs: RunJson[] }>((await project.dag(['runs', '--json'])).stdout);
    first = list.runs[0]!.run_id;

    const sqlPartition = await project.dag(['explain', 'A', '2021-11-05']);
    expect(sqlPartition.code, sqlPartition.stderr).toBe(0);
    expect(sqlPartition.stdout.split('\n')[0]).toMatch(
      new RegExp(`^A 2021-11-05 is missing and will be built.*: its last build failed: PROCESSOR_ERROR in run ${first} at \\S+: .*Conversion Error`),
    );

    const commandPartition = await project.dag(['explain', 'C', '2021-11-07', '--json']);
    expect(commandPartition.code, commandPartition.stderr).toBe(0);
    const json = JSON.parse(commandPartition.stdout) as { last_failure: { run_id: string; category: string; message: string; log: string | null } };
    expect(json.last_failure).toMatchObject({ run_id: first, category: 'PROCESSOR_ERROR', log: `.dag/logs/${first}/C/2021-11-07_2021-11-07.log` });
    expect(json.last_failure.message).toContain('the API said 500');
    const text = (await project.dag(['explain', 'C', '2021-11-07'])).stdout;
    expect(text).toContain(`its last build failed: PROCESSOR_ERROR in run ${first}`);
    expect(text).toContain(`(log: .dag/logs/${first}/C/2021-11-07_2021-11-07.log)`);
    expect(text).not.toContain('its code changed');
    // A fresh partition names no failure.
    expect((await project.dag(['explain', 'A', '2021-11-04'])).stdout).not.toContain('last build failed');
  }, 120_000);

  it('lists the runs newest first with range, outcome and counts; one run with its batches, failures and logs', async () => {
    writeFileSync(join(project.dir, 'sql/a.sql'), goodSql);
    const run2 = await project.dag(['run', '--range', RANGE]);
    expect(run2.code, run2.stdout + run2.stderr).toBe(1);

    const list = parsed<{ target: string; runs: RunJson[] }>((await project.dag(['runs', '--json'])).stdout);
    expect(list.target).toBe('dev');
    expect(list.runs.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    second = list.runs[0]!.run_id;
    expect(list.runs[1]!.run_id).toBe(first);
    // Run 1: A built 9 of 10 (2021-11-05 failed), C built 9 (2021-11-07 failed).
    expect(list.runs[1]!.counts).toEqual({ built: 18, failed: 2, upstream_failed: 0, blocked: 0 });
    // Run 2: A's SQL changed, so all 10 rebuilt; C's 2021-11-07 failed again.
    expect(list.runs[0]!.counts).toEqual({ built: 10, failed: 1, upstream_failed: 0, blocked: 0 });
    expect(list.runs[0]!.range).toEqual({ start: '2021-11-01', end: '2021-11-10' });
    expect(list.runs[0]!.command_line).toContain(`run --range ${RANGE}`);

    const text = await project.dag(['runs']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN +STARTED \(UTC\) +TOOK +TARGET +RANGE +OUTCOME +BUILT +FAILED +UPSTREAM-FAILED +BLOCKED +COMMAND$/);
    expect(lines[1]).toMatch(new RegExp(`^${second} .* dev +2021-11-01\\.\\.2021-11-10 +failed +10 +1 +0 +0 +.*run --range`));
    expect(lines[2]).toMatch(new RegExp(`^${first} .* failed +18 +2 +0 +0 `));
    expect((await project.dag(['runs', '--limit', '1'])).stdout.trimEnd().split('\n')).toHaveLength(2);

    const one = await project.dag(['runs', first]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`run ${first} on dev: failed`);
    expect(one.stdout).toContain('built 18, failed 2, upstream-failed 0, blocked 0');
    expect(one.stdout).toMatch(/^A +2021-11-05 +failed +PROCESSOR_ERROR +1 /m);
    expect(one.stdout).toMatch(/^C +2021-11-07 +failed +PROCESSOR_ERROR +1 /m);
    expect(one.stdout).toMatch(/^A +2021-11-01\.\.2021-11-03 +built +1 +\d+ /m);
    // Failures by processor and category, A's built since by run 2.
    expect(one.stdout).toMatch(/^ {2}A {2}PROCESSOR_ERROR 2021-11-05: .*Conversion Error.*\(built since: 1 of 1\)$/m);
    expect(one.stdout).toMatch(/^ {2}C {2}PROCESSOR_ERROR 2021-11-07: /m);
    // Every command log of the run: the first attempt over the whole batch and each split half.
    expect(one.stdout).toContain(`C 2021-11-01..2021-11-10  .dag/logs/${first}/C/2021-11-01_2021-11-10.log`);
    expect(one.stdout).toContain(`C 2021-11-07  .dag/logs/${first}/C/2021-11-07_2021-11-07.log`);

    const detail = parsed<{
      run: RunJson;
      batches: { processor: string; start: string; outcome: string; log: string | null }[];
      failure_groups: { processor: string; built_since: number }[];
    }>((await project.dag(['runs', first, '--json'])).stdout);
    expect(detail.run.run_id).toBe(first);
    expect(detail.batches.find((b) => b.processor === 'C' && b.start === '2021-11-07')).toMatchObject({
      outcome: 'failed',
      log: `.dag/logs/${first}/C/2021-11-07_2021-11-07.log`,
    });
    expect(detail.batches.filter((b) => b.processor === 'A').every((b) => b.log === null)).toBe(true);
    expect(detail.failure_groups.map((g) => [g.processor, g.built_since])).toEqual([
      ['A', 1],
      ['C', 0],
    ]);

    const unknown = await project.dag(['runs', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no run 'nope' is recorded on target 'dev'");
  }, 180_000);

  it('--failures: which partitions failed, when, why, and whether a later run built them since', async () => {
    const failures = parsed<{ failures: FailureJson[]; truncated: boolean }>((await project.dag(['runs', '--failures', '--json'])).stdout);
    expect(failures.truncated).toBe(false);
    expect(failures.failures.map((f) => [f.run_id, f.processor, f.date, f.category, f.built_since?.run_id ?? null])).toEqual([
      [second, 'C', '2021-11-07', 'PROCESSOR_ERROR', null],
      [first, 'C', '2021-11-07', 'PROCESSOR_ERROR', null],
      [first, 'A', '2021-11-05', 'PROCESSOR_ERROR', second],
    ]);
    const text = (await project.dag(['runs', '--failures'])).stdout;
    expect(text).toMatch(/^RUN +PROCESSOR +DATE +FAILED AT \(UTC\) +CATEGORY +ATTEMPTS +BUILT SINCE +MESSAGE$/m);
    expect(text).toMatch(new RegExp(`^${first} +A +2021-11-05 .* PROCESSOR_ERROR +\\d+ +yes \\(${second}\\) +Conversion Error`, 'm'));
    expect(text).toMatch(
      new RegExp(
        `^${first} +C +2021-11-07 .* PROCESSOR_ERROR +\\d+ +no +\`node jobs/c.mjs\` exited with code 3 .*last lines: .*the API said 500 for 2021-11-07$`,
        'm',
      ),
    );
    expect(text).toContain('3 failed partitions, 2 not built since');
    // One run's failures only.
    const ofSecond = parsed<{ failures: FailureJson[] }>((await project.dag(['runs', second, '--failures', '--json'])).stdout);
    expect(ofSecond.failures.map((f) => [f.processor, f.date])).toEqual([['C', '2021-11-07']]);

    // The command fixed: a third run builds C 2021-11-07, and both earlier failures show it built since.
    rmSync(join(project.dir, 'fail-c'));
    const run3 = await project.dag(['run', '--range', RANGE]);
    expect(run3.code, run3.stdout + run3.stderr).toBe(0);
    const third = parsed<{ runs: RunJson[] }>((await project.dag(['runs', '--json', '--limit', '1'])).stdout).runs[0]!;
    expect(third).toMatchObject({ outcome: 'success', counts: { built: 1, failed: 0, upstream_failed: 0, blocked: 0 } });
    const after = parsed<{ failures: FailureJson[] }>((await project.dag(['runs', '--failures', '--json'])).stdout);
    expect(after.failures.map((f) => f.built_since?.run_id)).toEqual([third.run_id, third.run_id, second]);
    expect((await project.dag(['explain', 'C', '2021-11-07'])).stdout).not.toContain('last build failed');
  }, 180_000);
});
