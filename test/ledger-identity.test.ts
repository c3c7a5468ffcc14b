/**
 * Identity through the real CLI on a real DuckDB file: the ledger records each partition's table, so
 * a processor renamed in pipeline.yaml keeps its table's history (fresh with the same code,
 * code_changed with new code, never "built outside dag"); plan, --json and validate say when a
 * table has ledger rows under a name the pipeline no longer has, or no processor builds a table.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copySql, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';
import { looksLikeStackTrace } from './support/cli.js';
import { queryRows } from './support/duckdb.js';

const RANGE = '2021-11-01..2021-11-06';
/** New code, same columns (a schema change is another matter). */
const CHANGED_SQL = "select d, id, payload || '!' as payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n";
const DAYS = 6;

const copyProcessor = (name: string, sql = 'copy.sql', table = 'out.copy') => `  ${name}:
    table: ${table}
    upstream: [src]
    sql: ${sql}
`;

interface PlanJson {
  processors: { name: string; counts: Record<string, number>; partitions: { date: string; status: string; reasons?: { kind: string }[] }[] }[];
  summary: Record<string, number>;
  warnings?: string[];
}

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) rmSync(p.dir, { recursive: true, force: true });
});

async function built(processors: string): Promise<Project> {
  const project = await makeProject(pipelineYaml(processors), { 'copy.sql': copySql('src'), 'changed.sql': CHANGED_SQL });
  projects.push(project);
  const run = await project.dag(['run', '--range', RANGE]);
  expect(run.code, run.stderr).toBe(0);
  return project;
}

async function planJson(project: Project): Promise<{ json: PlanJson; stderr: string }> {
  const r = await project.dag(['plan', '--range', RANGE, '--json']);
  expect(r.code, r.stderr).toBe(0);
  expect(looksLikeStackTrace(r.stderr)).toBe(false);
  return { json: JSON.parse(r.stdout) as PlanJson, stderr: r.stderr };
}

const rewritePipeline = (project: Project, processors: string): void => writeFileSync(join(project.dir, 'pipeline.yaml'), pipelineYaml(processors));

describe('ledger identity: a renamed processor keeps its table', () => {
  it('rename with unchanged code: every partition stays fresh, with a warning that names the old name and how to silence it', async () => {
    const project = await built(copyProcessor('OLD'));
    rewritePipeline(project, copyProcessor('NEW'));
    const { json, stderr } = await planJson(project);
    expect(json.summary).toMatchObject({ expected: DAYS, fresh: DAYS, build: 0 });
    expect(stderr).toContain(`dag: warning: table out.copy (processor NEW) has ledger rows recorded under 'OLD', a name pipeline.yaml no longer has`);
    expect(stderr).toContain(`UPDATE _dag.partitions SET processor = 'NEW' WHERE table_name = 'out.copy'`);
    expect(json.warnings?.some((w) => w.includes(`'OLD'`) && w.includes('out.copy'))).toBe(true);
    // The text plan does not call them built outside dag.
    const text = await project.dag(['plan', '--range', RANGE]);
    expect(text.stdout + text.stderr).not.toContain('built outside dag');
    // validate says it too, pointing at NEW's table: key.
    const validate = await project.dag(['validate', '--format', 'json']);
    expect(validate.code, validate.stdout).toBe(0);
    const diagnostics = JSON.parse(validate.stdout) as { code: string; severity: string; message: string; line: number }[];
    expect(diagnostics).toEqual([expect.objectContaining({ code: 'ledger-former-name', severity: 'warning', line: 12 })]);
    // A run builds nothing; following the hint silences the warning.
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(JSON.parse(run.stdout).totals.built).toBe(0);
    const { execSql } = await import('./support/duckdb.js');
    await execSql(project.db, `UPDATE _dag.partitions SET processor = 'NEW' WHERE table_name = 'out.copy'`);
    expect((await planJson(project)).json.warnings).toEqual([]);
  });

  it('rename with changed SQL: stale code_changed (never external), rebuilt, old-name rows replaced', async () => {
    const project = await built(copyProcessor('OLD'));
    rewritePipeline(project, copyProcessor('NEW', 'changed.sql'));
    const { json } = await planJson(project);
    const p = json.processors.find((x) => x.name === 'NEW');
    expect(p?.counts).toMatchObject({ expected: DAYS, stale: DAYS, build: DAYS, fresh: 0 });
    for (const partition of p?.partitions ?? []) expect(partition.reasons?.map((r) => r.kind)).toEqual(['code_changed']);
    const explain = await project.dag(['explain', 'NEW', RANGE.slice(0, 10)]);
    expect(explain.stdout).toContain("its table's ledger rows were recorded as OLD: renamed");
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals.built).toBe(DAYS);
    const rows = await queryRows(project.db, `SELECT processor, table_name, count(*)::INTEGER AS n FROM _dag.partitions GROUP BY ALL`);
    expect(rows).toEqual([{ processor: 'NEW', table_name: 'out.copy', n: DAYS }]);
    const after = await planJson(project);
    expect(after.json.summary).toMatchObject({ fresh: DAYS, build: 0 });
    expect(after.json.warnings).toEqual([]);
    expect(after.stderr).not.toContain('warning');
  });

  it('a removed processor leaves orphaned ledger rows: plan and validate say which table and what to do', async () => {
    const project = await built(copyProcessor('KEEP') + copyProcessor('GONE', 'copy.sql', 'out.gone'));
    rewritePipeline(project, copyProcessor('KEEP'));
    const { json, stderr } = await planJson(project);
    expect(json.summary).toMatchObject({ fresh: DAYS, build: 0 });
    expect(stderr).toContain(
      `dag: warning: the ledger holds ${DAYS} partition(s) of table out.gone recorded under 'GONE', and no processor in pipeline.yaml builds out.gone`,
    );
    expect(stderr).toContain(`DELETE FROM _dag.partitions WHERE table_name = 'out.gone'`);
    expect(json.warnings).toHaveLength(1);
    const validate = await project.dag(['validate']);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/pipeline\.yaml warning ledger-orphaned the ledger holds 6 partition\(s\) of table out\.gone/);
    expect(validate.stdout).toContain('pipeline.yaml is valid (1 warning)');
  });

  it('validate stays file-only when the DuckDB file does not exist yet', async () => {
    const project = await makeProject(pipelineYaml(copyProcessor('P')), { 'copy.sql': copySql('src') });
    projects.push(project);
    rmSync(project.db);
    const validate = await project.dag(['validate']);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('pipeline.yaml is valid\n');
  });
});
