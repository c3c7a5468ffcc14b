/**
 * "Fresh means fresh" through the real CLI on a real DuckDB file (DESIGN §3): after a first backfill,
 * data changes behind dag's back — a source day deleted, rows deleted from a built partition, a
 * source day expired under retention — and `dag plan`, `dag explain` and `dag run` must tell the truth.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { execSql } from './support/duckdb.js';
import { copySql, isoDay, ledgerByDay, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';

const RANGE = `${isoDay(0)}..${isoDay(9)}`;

const chain = (sourceExtra = ''): string =>
  pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
  B:
    table: p.b
    upstream: [A]
    sql: sql/b.sql
  C:
    table: p.c
    upstream: [B]
    sql: sql/c.sql
`).replace('src: { table: raw.src }', `src: { table: raw.src${sourceExtra} }`);

const files = { 'sql/a.sql': copySql('src'), 'sql/b.sql': copySql('A'), 'sql/c.sql': copySql('B') };

interface PlanJson {
  processors: {
    name: string;
    counts: Record<string, number>;
    partitions: {
      date: string;
      status: string;
      action: string;
      category?: string;
      reasons?: { kind: string; upstream?: string; dates?: string[]; was?: number; now?: number }[];
      needs?: { upstream: string; dates: string[] }[];
    }[];
  }[];
  summary: Record<string, number>;
}

async function planJson(project: Project, extra: string[] = [], env?: Record<string, string>): Promise<PlanJson> {
  const result = await project.dag(['plan', '--range', RANGE, '--json', ...extra], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PlanJson;
}

const partitionOf = (plan: PlanJson, name: string, date: string) => plan.processors.find((p) => p.name === name)?.partitions.find((x) => x.date === date);

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) rmSync(p.dir, { recursive: true, force: true });
});

async function builtProject(sourceExtra = ''): Promise<Project> {
  const project = await makeProject(chain(sourceExtra), files, 10);
  projects.push(project);
  const run = await project.dag(['run', '--range', RANGE]);
  expect(run.code, run.stderr).toBe(0);
  return project;
}

describe("fresh means fresh after changes behind dag's back", () => {
  it('a deleted source day: its readers are upstream_missing and blocked, their readers upstream_stale, nothing is built on them', async () => {
    const project = await builtProject();
    await execSql(project.db, `DELETE FROM raw.src WHERE d = DATE '${isoDay(4)}'`);
    const plan = await planJson(project);
    expect(partitionOf(plan, 'A', isoDay(4))).toEqual({
      date: isoDay(4),
      status: 'stale',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      needs: [{ upstream: 'src', dates: [isoDay(4)] }],
      reasons: [{ kind: 'upstream_missing', upstream: 'src', dates: [isoDay(4)] }],
    });
    expect(partitionOf(plan, 'B', isoDay(4))).toMatchObject({
      status: 'stale',
      action: 'blocked',
      reasons: [{ kind: 'upstream_stale', upstream: 'A', dates: [isoDay(4)] }],
    });
    expect(partitionOf(plan, 'C', isoDay(4))).toMatchObject({ status: 'stale', action: 'blocked' });
    expect(plan.summary).toMatchObject({ stale: 3, build: 0, blocked: 3 });
    expect((await project.dag(['plan', '--range', RANGE, '--exit-code'])).code).toBe(1);

    const explain = await project.dag(['explain', 'C', isoDay(4)]);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout.split('\n')[0]).toContain(`src ${isoDay(4)} is absent: a gap in the source`);
    expect(explain.stdout).toContain('upstream_missing: src is gone and will not be built');

    // A run builds nothing on the vanished day and keeps what it has.
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ built: 0, blocked: 3 });
  });

  it('rows deleted from a built partition: rows_changed, explained, and rebuilt with its readers', async () => {
    const project = await builtProject();
    await execSql(project.db, `DELETE FROM p.a WHERE d = DATE '${isoDay(5)}' AND id > 0`);
    const plan = await planJson(project);
    const a5 = partitionOf(plan, 'A', isoDay(5));
    expect(a5).toMatchObject({ status: 'stale', action: 'build', reasons: [{ kind: 'rows_changed', was: 3, now: 1 }] });
    expect(partitionOf(plan, 'B', isoDay(5))).toMatchObject({
      status: 'stale',
      action: 'build',
      reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', dates: [isoDay(5)] }],
    });
    expect(plan.summary).toMatchObject({ stale: 3, build: 3 });

    const explain = await project.dag(['explain', 'A', isoDay(5)]);
    expect(explain.stdout).toContain('the table holds 1 rows for it, the ledger recorded 3');
    const text = await project.dag(['plan', '--range', RANGE]);
    expect(text.stdout).toContain('rows_changed');

    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ built: 3, failed: 0 });
    expect((await ledgerByDay(project.db, 'A')).get(isoDay(5))).toBe(3);
    expect((await planJson(project)).summary).toMatchObject({ stale: 0, build: 0 });
  });

  it('a lost partition of an unselected upstream blocks its present readers; selected, it is rebuilt first', async () => {
    const project = await builtProject();
    await execSql(project.db, `DELETE FROM p.a WHERE d = DATE '${isoDay(2)}'`);
    const result = await project.dag(['plan', '--range', `${isoDay(2)}..${isoDay(9)}`, '--select', 'B', '--json']);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(partitionOf(plan, 'B', isoDay(2))).toMatchObject({
      status: 'stale',
      action: 'blocked',
      category: 'MISSING_DEPENDENCIES',
      reasons: [{ kind: 'upstream_missing', upstream: 'A', dates: [isoDay(2)] }],
    });
    // With A selected, the lost partition is rebuilt first and B follows.
    const both = JSON.parse((await project.dag(['plan', '--range', `${isoDay(2)}..${isoDay(9)}`, '--select', 'A,B', '--json'])).stdout) as PlanJson;
    expect(partitionOf(both, 'A', isoDay(2))).toMatchObject({ status: 'missing', action: 'build' });
    expect(partitionOf(both, 'B', isoDay(2))).toMatchObject({
      status: 'stale',
      action: 'build',
      reasons: [{ kind: 'upstream_rebuilt', upstream: 'A', dates: [isoDay(2)] }],
    });
  });

  it('retention: an expired source day leaves its readers fresh; a reader not built yet is INSUFFICIENT_HISTORY', async () => {
    const project = await builtProject(', retention: 30d');
    await execSql(project.db, `DELETE FROM raw.src WHERE d <= DATE '${isoDay(1)}'`);
    await execSql(project.db, `DELETE FROM p.c WHERE d = DATE '${isoDay(0)}'`);
    await execSql(project.db, `DELETE FROM _dag.partitions WHERE processor = 'C' AND partition_date = DATE '${isoDay(0)}'`);
    // Today is 2021-12-02: src days before 2021-11-02 (isoDay(1)) are expired, isoDay(1) is not.
    const env = { DAG_NOW: '2021-12-02T08:00:00Z' };
    const plan = await planJson(project, [], env);
    expect(partitionOf(plan, 'A', isoDay(0))).toBeUndefined(); // fresh: expired by design, not vanished
    expect(partitionOf(plan, 'A', isoDay(1))).toMatchObject({ status: 'stale', reasons: [{ kind: 'upstream_missing', upstream: 'src', dates: [isoDay(1)] }] });
    // C 11-01 was lost and B 11-01 is fresh: it is rebuilt from B, which needs no expired history.
    expect(partitionOf(plan, 'C', isoDay(0))).toMatchObject({ status: 'missing', action: 'build' });

    // Without the retention the same deletion is a vanished input.
    const strict = await makeProject(chain(), files, 10);
    projects.push(strict);
    expect((await strict.dag(['run', '--range', RANGE])).code).toBe(0);
    await execSql(strict.db, `DELETE FROM raw.src WHERE d = DATE '${isoDay(0)}'`);
    expect(partitionOf(await planJson(strict, [], env), 'A', isoDay(0))).toMatchObject({ status: 'stale', reasons: [{ kind: 'upstream_missing' }] });

    // A processor whose own partition is absent and reads an expired one: blocked for good.
    await execSql(project.db, `DELETE FROM p.a WHERE d = DATE '${isoDay(0)}'`);
    await execSql(project.db, `DELETE FROM _dag.partitions WHERE processor = 'A' AND partition_date = DATE '${isoDay(0)}'`);
    const after = await planJson(project, [], env);
    expect(partitionOf(after, 'A', isoDay(0))).toMatchObject({
      status: 'missing',
      action: 'blocked',
      category: 'INSUFFICIENT_HISTORY',
      needs: [{ upstream: 'src', dates: [isoDay(0)] }],
    });
    const explain = await project.dag(['explain', 'A', isoDay(0)], env);
    expect(explain.stdout).toContain("is expired: older than src's retention (30 days)");
  });
});
