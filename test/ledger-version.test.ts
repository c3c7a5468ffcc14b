/**
 * Ledger integrity through the real CLI on a real DuckDB file: a version-1 ledger (no table_name) is
 * read as such by plan and migrated by run; a newer version or a damaged ledger (a dropped or renamed
 * column) is a clear refusal, exit 2, naming the table and column, never "a bug in dag".
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copySql, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';
import { looksLikeStackTrace, type DagResult } from './support/cli.js';
import { execSql, queryRows } from './support/duckdb.js';

const RANGE = '2021-11-01..2021-11-04';
const DAYS = 4;

const processor = (name: string, table: string) => `  ${name}:
    table: ${table}
    upstream: [src]
    sql: copy.sql
`;

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) rmSync(p.dir, { recursive: true, force: true });
});

async function built(processors: string): Promise<Project> {
  const project = await makeProject(pipelineYaml(processors), { 'copy.sql': copySql('src') });
  projects.push(project);
  const run = await project.dag(['run', '--range', RANGE]);
  expect(run.code, run.stderr).toBe(0);
  return project;
}

/** What a dag of ledger version 1 left: the same tables, without partitions.table_name. */
async function downgradeToV1(db: string): Promise<void> {
  await execSql(db, `ALTER TABLE _dag.partitions DROP COLUMN table_name`, `UPDATE _dag.meta SET value = '1' WHERE key = 'schema_version'`);
}

function expectRefusal(result: DagResult, ...parts: string[]): void {
  expect(result.code, result.stderr).toBe(2);
  for (const part of parts) expect(result.stderr).toContain(part);
  expect(result.stderr).not.toContain('bug in dag');
  expect(looksLikeStackTrace(result.stderr)).toBe(false);
}

describe('ledger versions', () => {
  it('a version-1 ledger: plan reads it by name and says so; run migrates it once, keeping every partition fresh', async () => {
    const project = await built(processor('A', 'out.a') + processor('X', 'out.x'));
    await downgradeToV1(project.db);
    writeFileSync(join(project.dir, 'pipeline.yaml'), pipelineYaml(processor('A', 'out.a')));

    const plan = await project.dag(['plan', '--range', RANGE, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).summary).toMatchObject({ expected: DAYS, fresh: DAYS, build: 0 });
    expect(plan.stderr).toContain(`the ledger of target 'dev' is version 1 (from before table identity): it is read by processor name`);
    expect(plan.stderr).toContain(`recorded under 'X', a name pipeline.yaml no longer has, with no table`);
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '1' }]);

    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals.built).toBe(0);
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '3' }]);
    expect(await queryRows(project.db, `SELECT processor, table_name, count(*)::INTEGER AS n FROM _dag.partitions GROUP BY ALL ORDER BY 1`)).toEqual([
      { processor: 'A', table_name: 'out.a', n: DAYS },
      { processor: 'X', table_name: null, n: DAYS },
    ]);
    const after = await project.dag(['plan', '--range', RANGE]);
    expect(after.code).toBe(0);
    expect(after.stderr).not.toContain('is version 1');
    expect(after.stderr).toContain(`DELETE FROM _dag.partitions WHERE processor = 'X' AND table_name IS NULL`);
    expect(after.stderr).toContain(`the ledger holds ${DAYS} partition(s) recorded under 'X', a name pipeline.yaml no longer has, with no table`);
  });

  it('a version-2 ledger: dag runs reads it without run summaries; run migrates it to version 3 and records its own', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(
      project.db,
      ...['range_start', 'range_end', 'built', 'failed', 'upstream_failed', 'blocked'].map((c) => `ALTER TABLE _dag.runs DROP COLUMN ${c}`),
      `DROP TABLE _dag.batches`,
      `DROP TABLE _dag.checks`,
      `UPDATE _dag.meta SET value = '2' WHERE key = 'schema_version'`,
    );
    const old = await project.dag(['runs', '--json']);
    expect(old.code, old.stderr).toBe(0);
    const [before] = JSON.parse(old.stdout).runs as { run_id: string; outcome: string; counts: unknown; range: unknown }[];
    expect(before).toMatchObject({ outcome: 'success', counts: null, range: null });
    expect((await project.dag(['runs', before!.run_id])).stdout).toContain('Batches: none recorded');
    expect((await project.dag(['runs', '--failures'])).code).toBe(0);
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '2' }]);

    const run = await project.dag(['run', '--range', RANGE, '--force']);
    expect(run.code, run.stderr).toBe(0);
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '3' }]);
    const runs = JSON.parse((await project.dag(['runs', '--json'])).stdout).runs as { counts: unknown }[];
    expect(runs.map((r) => r.counts)).toEqual([{ built: DAYS, failed: 0, upstream_failed: 0, blocked: 0 }, null]);
    expect(await queryRows(project.db, `SELECT count(*)::INTEGER AS n FROM _dag.batches`)).toEqual([{ n: 2 }]);
  });

  it('a version-2 ledger (no _dag.checks): plan reads it as it is; run creates the table and records version 3', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(project.db, `DROP TABLE _dag.checks`, `UPDATE _dag.meta SET value = '2' WHERE key = 'schema_version'`);
    const plan = await project.dag(['plan', '--range', RANGE, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).summary).toMatchObject({ expected: DAYS, fresh: DAYS });
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '2' }]);
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals.built).toBe(0);
    expect(await queryRows(project.db, `SELECT value FROM _dag.meta WHERE key = 'schema_version'`)).toEqual([{ value: '3' }]);
    expect(await queryRows(project.db, `SELECT count(*)::INTEGER AS n FROM _dag.checks`)).toEqual([{ n: 0 }]);
  });

  it('a newer ledger version is refused by plan and run (exit 2), and the run leaves no lock behind', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(project.db, `UPDATE _dag.meta SET value = '99' WHERE key = 'schema_version'`);
    const hint = 'upgrade dag';
    expectRefusal(await project.dag(['plan', '--range', RANGE]), `the ledger of target 'dev'`, 'is version 99, newer than this dag understands (3)', hint);
    expectRefusal(await project.dag(['run', '--range', RANGE]), 'is version 99', hint);
    expect(existsSync(`${project.db}.lock`)).toBe(false);
    expectRefusal(await project.dag(['explain', 'A', '2021-11-01']), 'is version 99');
  });

  it('a dropped column is refused, naming the table and the column', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(project.db, `ALTER TABLE _dag.partitions DROP COLUMN code_fingerprint`);
    expectRefusal(
      await project.dag(['plan', '--range', RANGE]),
      'is damaged: table _dag.partitions has no column code_fingerprint',
      'restore it from a backup',
    );
    expectRefusal(await project.dag(['run', '--range', RANGE]), 'table _dag.partitions has no column code_fingerprint');
  });

  it('a renamed column is refused, and the hint says to rename it back', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(project.db, `ALTER TABLE _dag.runs RENAME COLUMN outcome TO result`);
    expectRefusal(await project.dag(['run', '--range', RANGE]), 'table _dag.runs has no column outcome', 'rename _dag.runs.result back to outcome');
    expectRefusal(await project.dag(['plan', '--range', RANGE]), 'table _dag.runs has no column outcome');
    // validate reports what it cannot read as a warning, and stays valid.
    const validate = await project.dag(['validate']);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain(`warning ledger-unreadable could not check the ledger of target 'dev'`);
  });

  it('a missing meta table is refused too', async () => {
    const project = await built(processor('A', 'out.a'));
    await execSql(project.db, `DROP TABLE _dag.meta`);
    expectRefusal(await project.dag(['plan', '--range', RANGE]), 'table _dag.meta is missing');
  });
});
