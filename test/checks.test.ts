/**
 * Data checks through the real CLI on DuckDB (DESIGN §9, docs/checks.md): each built-in check
 * passing and failing, an error check failing one day of a 7-day batch (6 committed, 1 not, its
 * readers blocked, its old rows kept), a warn check, a check that cannot run, the fingerprint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryRows } from './support/duckdb.js';
import { spawn } from 'node:child_process';
import { dagBin } from './support/cli.js';
import { countsByDay, duckdbScript, isoDay, ledgerByDay, makeProject, parseRunJson, pipelineYaml, processorOf, sourceRows } from './fixtures/run/project.js';

const RANGE = `${isoDay(0)}..${isoDay(6)}`;
const copy = (from: string, id = 'id') => `select d, ${id} as id, payload from {{ ref('${from}') }} where d between {{ start_date }} and {{ end_date }}\n`;
/** id NULL on 2021-11-03 only. */
const NULL_ON_DAY_2 = `case when d = DATE '${isoDay(2)}' then null else id end`;

async function findings(db: string): Promise<Record<string, unknown>[]> {
  return queryRows(
    db,
    `select processor, strftime(partition_date, '%Y-%m-%d') as day, check_name, severity, offending_rows::INTEGER as n, samples from _dag.checks order by processor, day, check_name`,
  );
}

describe('data checks on DuckDB', () => {
  it('an error check fails one day of a 7-day batch: 6 committed, that day keeps its old rows, its readers are blocked', async () => {
    const yaml = (checks: string) =>
      pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 7${checks}
  R:
    table: p.r
    upstream: [P]
    sql: sql/r.sql
    batch_size: 7
`);
    const project = await makeProject(yaml(''), { 'sql/p.sql': copy('src'), 'sql/r.sql': copy('P') }, 7);
    expect((await project.dag(['run', '--range', RANGE])).code).toBe(0);
    const before = await countsByDay(project.db, 'p.p');
    // Now P yields a NULL id on day 2, and declares a check: the checks change the fingerprint.
    writeFileSync(join(project.dir, 'sql/p.sql'), copy('src', NULL_ON_DAY_2));
    writeFileSync(join(project.dir, 'pipeline.yaml'), yaml('\n    checks:\n      - not_null: [id]'));
    const plan = await project.dag(['plan', '--range', RANGE, '--json']);
    const planned = JSON.parse(plan.stdout) as { processors: { name: string; counts: { build: number } }[] };
    expect(planned.processors.find((p) => p.name === 'P')?.counts.build).toBe(7);

    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code).toBe(1);
    const json = parseRunJson(run);
    const p = processorOf(json, 'P');
    expect(p.built).toEqual([0, 1, 3, 4, 5, 6].map(isoDay));
    expect(p.failed).toEqual([expect.objectContaining({ date: isoDay(2), category: 'CHECK_FAILED' })]);
    expect(p.failed[0]?.message).toContain('check not_null(id) found 3 offending rows');
    expect(p.failed[0]?.message).toContain(`{"d":"${isoDay(2)}","id":null,"payload":"${isoDay(2)}#0"}`);
    expect(processorOf(json, 'R').upstream_failed).toEqual([isoDay(2)]);
    // Nothing of day 2 was committed: the old rows (with their ids) and the old ledger row stay.
    expect(await countsByDay(project.db, 'p.p')).toEqual(before);
    expect(await queryRows(project.db, `select count(*)::INTEGER as n from p.p where id is null`)).toEqual([{ n: 0 }]);
    const ledger = await queryRows(
      project.db,
      `select strftime(partition_date, '%Y-%m-%d') as day, run_id from _dag.partitions where processor = 'P' order by 1`,
    );
    const runIds = new Set(ledger.filter((row) => row.day !== isoDay(2)).map((row) => row.run_id));
    expect(runIds).toEqual(new Set([json.run_id]));
    expect(ledger.find((row) => row.day === isoDay(2))?.run_id).not.toBe(json.run_id);
    expect(await findings(project.db)).toEqual([
      expect.objectContaining({ processor: 'P', day: isoDay(2), check_name: 'not_null(id)', severity: 'error', n: 3 }),
    ]);

    // The next plan says why day 2 is still to build, and explain walks R back to it.
    const text = await project.dag(['plan', '--range', RANGE]);
    expect(text.stdout).toContain('last build failed check not_null(id)');
    const explain = await project.dag(['explain', 'R', isoDay(2)]);
    expect(explain.stdout).toContain('CHECK_FAILED');
  });

  it('each built-in check passes on good rows and fails on bad ones', async () => {
    const bad = (day: number) => `DATE '${isoDay(day)}'`;
    const yaml = pipelineYaml(`  GOOD:
    table: p.good
    upstream: [src]
    sql: sql/good.sql
    batch_size: 7
    checks:
      - not_null: [id, payload]
      - unique: [id]
      - row_count: { min: 1, max: 3 }
      - accepted_values: { column: id, values: [0, 1, 2] }
      - relationships: { column: id, to: src, field: id }
      - sql: checks/good.sql
  NN:
    table: p.nn
    upstream: [src]
    sql: sql/nn.sql
    batch_size: 7
    checks: [{ not_null: [id] }]
  UQ:
    table: p.uq
    upstream: [src]
    sql: sql/uq.sql
    batch_size: 7
    checks: [{ unique: [id] }]
  RC:
    table: p.rc
    upstream: [src]
    sql: sql/good.sql
    batch_size: 7
    checks: [{ row_count: { min: 2 } }]
  AV:
    table: p.av
    upstream: [src]
    sql: sql/good.sql
    batch_size: 7
    checks: [{ accepted_values: { column: id, values: [0, 1] } }]
  RL:
    table: p.rl
    upstream: [src]
    sql: sql/rl.sql
    batch_size: 7
    checks: [{ relationships: { column: id, to: src, field: id }, name: known_id }]
  SQ:
    table: p.sq
    upstream: [src]
    sql: sql/good.sql
    batch_size: 7
    checks: [{ sql: checks/payload.sql }]
`);
    const project = await makeProject(
      yaml,
      {
        'sql/good.sql': copy('src'),
        'sql/nn.sql': copy('src', `case when d = ${bad(1)} then null else id end`),
        'sql/uq.sql': `select d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} union all select d, id, payload from {{ ref('src') }} where d = ${bad(5)}\n`,
        'sql/rl.sql': copy('src', `case when d = ${bad(4)} then id + 10 else id end`),
        'checks/good.sql': 'select d, id from {{ this }} where id < 0\n',
        'checks/payload.sql': `select d, payload from {{ this }} where payload like '${isoDay(6)}%'\n`,
      },
      7,
    );
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    const json = parseRunJson(run);
    const failedDays = (name: string) => processorOf(json, name).failed.map((f) => `${f.date} ${f.category}`);
    expect(processorOf(json, 'GOOD').built).toHaveLength(7);
    expect(failedDays('GOOD')).toEqual([]);
    expect(failedDays('NN')).toEqual([`${isoDay(1)} CHECK_FAILED`]);
    expect(failedDays('UQ')).toEqual([`${isoDay(5)} CHECK_FAILED`]);
    // raw.src has (i % 3) + 1 rows on day i: one row on days 0, 3 and 6.
    expect(failedDays('RC')).toEqual([0, 3, 6].map((i) => `${isoDay(i)} CHECK_FAILED`));
    // ids 0..2: id 2 exists on days 2 and 5 only.
    expect(failedDays('AV')).toEqual([2, 5].map((i) => `${isoDay(i)} CHECK_FAILED`));
    expect(failedDays('RL')).toEqual([`${isoDay(4)} CHECK_FAILED`]);
    expect(failedDays('SQ')).toEqual([`${isoDay(6)} CHECK_FAILED`]);
    const uq = processorOf(json, 'UQ').failed[0]?.message ?? '';
    expect(uq).toContain('check unique(id) found 3 offending rows');
    expect(uq).toContain('"copies":2');
    expect(processorOf(json, 'RC').failed[0]?.message).toContain('"rows":1');
    expect(processorOf(json, 'RL').failed[0]?.message).toContain('check known_id found 2 offending rows');
    expect(processorOf(json, 'SQ').failed[0]?.message).toContain('check payload found 1 offending row,');
    for (const name of ['nn', 'uq', 'rc', 'av', 'rl', 'sq']) {
      const processor = name.toUpperCase();
      const built = await countsByDay(project.db, `p.${name}`);
      expect([...built.keys()], processor).toEqual(processorOf(json, processor).built);
      expect([...(await ledgerByDay(project.db, processor)).keys()], processor).toEqual(processorOf(json, processor).built);
    }
  });

  it('a warn check commits its partition, prints the finding and records it', async () => {
    const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 7
    checks:
      - accepted_values: { column: id, values: [0] }
        severity: warn
        name: only_zero
`);
    const project = await makeProject(yaml, { 'sql/p.sql': copy('src') }, 7);
    const run = await project.dag(['run', '--range', RANGE]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/warning: P 2021-11-02: check only_zero found 1 offending row, e\.g\. \{"d":"2021-11-02","id":1,/);
    expect([...(await countsByDay(project.db, 'p.p')).keys()]).toEqual([0, 1, 2, 3, 4, 5, 6].map(isoDay));
    const recorded = await findings(project.db);
    expect(recorded.map((f) => `${f.day} ${f.severity} ${f.n}`)).toEqual([1, 2, 4, 5].map((i) => `${isoDay(i)} warn ${i % 3}`));
    expect(JSON.parse(String(recorded[1]?.samples))).toEqual([
      { d: isoDay(2), id: 1, payload: `${isoDay(2)}#1` },
      { d: isoDay(2), id: 2, payload: `${isoDay(2)}#2` },
    ]);
  });

  it('a check that cannot run fails the processor once, data-independent, and writes nothing', async () => {
    const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 2
    checks:
      - sql: checks/broken.sql
  Q:
    table: p.q
    upstream: [src]
    sql: sql/star.sql
    batch_size: 2
    checks:
      - not_null: [no_such_column]
`);
    const project = await makeProject(
      yaml,
      {
        'sql/p.sql': copy('src'),
        'sql/star.sql': `select * from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`,
        'checks/broken.sql': 'select d, id from {{ this }} wher id < 0\n',
      },
      7,
    );
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code).toBe(1);
    const json = parseRunJson(run);
    for (const name of ['P', 'Q']) {
      const p = processorOf(json, name);
      expect(p.built).toEqual([]);
      expect(new Set(p.failed.map((f) => f.category))).toEqual(new Set(['PROCESSOR_ERROR']));
      expect(p.failed).toHaveLength(7);
    }
    expect(processorOf(json, 'P').failed[0]?.message).toMatch(/check broken could not run: Parser Error/);
    expect(processorOf(json, 'Q').failed[0]?.message).toMatch(/check not_null\(no_such_column\) could not run: Binder Error.*no_such_column/);
    // One attempt per processor: data-independent failures are neither retried nor split.
    expect(json.totals.jobs).toBe(2);
    expect(await ledgerByDay(project.db, 'P')).toEqual(new Map());
  });

  it('dag validate reports check problems at their positions, and unknown columns where the SELECT names its columns', async () => {
    const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    checks:
      - not_null: [id, idd]
      - unique: [id]
        row_count: { min: 1 }
      - relationships: { column: id, to: Q, field: id }
  Q:
    table: p.q
    upstream: [src]
    sql: sql/star.sql
    checks:
      - not_null: [whatever]
`);
    const project = await makeProject(
      yaml,
      { 'sql/p.sql': copy('src'), 'sql/star.sql': `select * from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n` },
      1,
    );
    const result = await project.dag(['validate', '--format', 'json']);
    expect(result.code).toBe(1);
    const diagnostics = (JSON.parse(result.stdout) as { code: string; line: number; column: number }[]).map((d) => `${d.code} ${d.line}:${d.column}`);
    expect(diagnostics).toEqual(['check-unknown-column 16:24', 'invalid-check 17:9', 'check-not-upstream 19:42']);
  });

  it('a command processor whose check fails keeps that day unfinished: never fresh, its readers blocked, rebuilt next time', async () => {
    const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/cmd.mjs, "{start}", "{end}"]
    batch_size: 7
    checks:
      - not_null: [id]
  R:
    table: p.r
    upstream: [CMD]
    sql: sql/r.sql
    batch_size: 7
`);
    // Writes NULL ids on 2021-11-05.
    const script = duckdbScript(`
const [from, to] = [process.argv[2], process.argv[3]];
await db.run("create schema if not exists p");
await db.run("create table if not exists p.cmd (d DATE, id INTEGER, payload VARCHAR)");
await db.run(\`delete from p.cmd where d between DATE '\${from}' and DATE '\${to}'\`);
await db.run(\`insert into p.cmd select d, case when d = DATE '${isoDay(4)}' then null else id end, payload from raw.src where d between DATE '\${from}' and DATE '\${to}'\`);
`);
    const project = await makeProject(yaml, { 'jobs/cmd.mjs': script, 'sql/r.sql': copy('CMD') }, 7);
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code).toBe(1);
    const json = parseRunJson(run);
    expect(processorOf(json, 'CMD').built).toEqual([0, 1, 2, 3, 5, 6].map(isoDay));
    expect(processorOf(json, 'CMD').failed).toEqual([expect.objectContaining({ date: isoDay(4), category: 'CHECK_FAILED' })]);
    expect(processorOf(json, 'R').upstream_failed).toEqual([isoDay(4)]);
    // The marker stays: rows -1 and the unfinished fingerprint of this run.
    const marker = await queryRows(
      project.db,
      `select "rows"::INTEGER as n, code_fingerprint from _dag.partitions where processor = 'CMD' and partition_date = DATE '${isoDay(4)}'`,
    );
    expect(marker).toEqual([{ n: -1, code_fingerprint: `unfinished:${json.run_id}` }]);
    const plan = JSON.parse((await project.dag(['plan', '--range', RANGE, '--json'])).stdout) as {
      processors: { name: string; partitions: { date: string; action: string }[] }[];
      check_failures: { processor: string; date: string }[];
    };
    expect(plan.processors.find((p) => p.name === 'CMD')?.partitions.map((p) => `${p.date} ${p.action}`)).toEqual([`${isoDay(4)} build`]);
    expect(plan.check_failures).toEqual([expect.objectContaining({ processor: 'CMD', date: isoDay(4) })]);
    expect(await findings(project.db)).toEqual([expect.objectContaining({ processor: 'CMD', day: isoDay(4), check_name: 'not_null(id)', n: sourceRows(4) })]);
  });

  it('kill -9 during a checked batch leaves the old partitions or the new ones, never the staged rows', async () => {
    const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 2
    checks:
      - not_null: [id]
      - unique: [id]
      - row_count: { min: 1 }
`);
    for (const delayMs of [400, 700, 1000, 1400]) {
      const project = await makeProject(yaml, { 'sql/p.sql': copy('src') }, 7);
      await new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [dagBin, 'run', '--range', RANGE], { cwd: project.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
        child.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const exists =
        (await queryRows(project.db, `select count(*)::INTEGER as n from duckdb_tables() where schema_name = 'p' and table_name = 'p'`))[0]?.n === 1;
      const data = exists ? await countsByDay(project.db, 'p.p') : new Map<string, number>();
      expect(data, `kill after ${delayMs} ms`).toEqual(await ledgerByDay(project.db, 'P'));
      for (const [day, rows] of data) expect(rows, day).toBe(sourceRows(Math.round((Date.parse(day) - Date.parse(isoDay(0))) / 86_400_000)));
      const rerun = await project.dag(['run', '--range', RANGE]);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect((await countsByDay(project.db, 'p.p')).size).toBe(7);
    }
  });
});
