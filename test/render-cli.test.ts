/**
 * `dag render` prints what `dag run` executes: for a SQL processor the SELECT of each batch exactly as
 * the DuckDB adapter sends it (compared with the statements the adapter logged through DAG_LOG_SQL
 * during the run), for a command processor the argv and DAG_* variables the command then really got.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeStackTrace } from './support/cli.js';
import { copySql, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';

const PROCESSORS = `  COPY:
    table: work.copy
    upstream: [src]
    sql: sql/copy.sql
  CMD:
    table: work.cmd
    upstream: [COPY]
    allow_empty: true
    command: [node, cmd.mjs, "{start}", "{end}", --target, "{target}"]
`;

// The command records what it was started with: its argv and every DAG_* variable.
const CMD = `import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('seen', { recursive: true });
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DAG_')));
writeFileSync('seen/' + process.argv[2] + '.json', JSON.stringify({ argv: process.argv.slice(2), env }));
`;

const RANGE = '2021-11-01..2021-11-07';

interface RenderJson {
  processor: string;
  batches: { start: string; end: string; sql?: string; argv?: string[]; env?: Record<string, string>; cwd?: string }[];
}

let project: Project;
beforeAll(async () => {
  project = await makeProject(pipelineYaml(PROCESSORS), { 'sql/copy.sql': copySql('src'), 'cmd.mjs': CMD });
});
afterAll(() => rmSync(project.dir, { recursive: true, force: true }));

async function render(args: string[]): Promise<string> {
  const result = await project.dag(['render', ...args]);
  expect(looksLikeStackTrace(result.stderr)).toBe(false);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

/** The SELECTs the adapter wrote work.copy's rows with, in the order it sent them. */
function writtenSelects(log: string): string[] {
  const writes =
    /(?:CREATE TABLE "dag_target"\."work"\."copy" AS |INSERT INTO "dag_target"\."work"\."copy" BY NAME )(SELECT \* FROM \(\n[\s\S]*?\n\) AS dag_select)/g;
  return [...log.matchAll(writes)].map((m) => m[1]!);
}

describe('dag render', () => {
  it('prints, per batch of the plan, the SQL the run then executes, and the argv and DAG_* variables a command then gets', async () => {
    const sql = JSON.parse(await render(['COPY', '--range', RANGE, '--json'])) as RenderJson;
    expect(sql.batches.map((b) => `${b.start}..${b.end}`)).toEqual(['2021-11-01..2021-11-03', '2021-11-04..2021-11-06', '2021-11-07..2021-11-07']);
    for (const batch of sql.batches) {
      expect(batch.sql).toContain(`d between DATE '${batch.start}' and DATE '${batch.end}'`);
      expect(batch.sql).toContain('from "dag_target"."raw"."src"');
    }
    const text = await render(['COPY', '--range', RANGE]);
    expect(text).toContain('-- batch 2021-11-01..2021-11-03 (3 partitions)\n');
    expect(text).toContain(`${sql.batches[0]!.sql};\n`);
    const command = JSON.parse(await render(['CMD', '--range', RANGE, '--json'])) as RenderJson;
    expect(command.batches).toHaveLength(3);

    const run = await project.dag(['run', '--range', RANGE], { DAG_LOG_SQL: 'sql.log' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const log = readFileSync(join(project.dir, 'sql.log'), 'utf8');
    expect(writtenSelects(log).sort()).toEqual(sql.batches.map((b) => b.sql!).sort());

    const seen = readdirSync(join(project.dir, 'seen')).sort();
    expect(seen).toEqual(['2021-11-01.json', '2021-11-04.json', '2021-11-07.json']);
    command.batches.forEach((batch, i) => {
      const got = JSON.parse(readFileSync(join(project.dir, 'seen', seen[i]!), 'utf8')) as { argv: string[]; env: Record<string, string> };
      expect(batch.argv).toEqual(['node', 'cmd.mjs', batch.start, batch.end, '--target', 'dev']);
      expect(got.argv).toEqual(batch.argv!.slice(2));
      expect(batch.cwd).toBe(project.dir);
      for (const [name, value] of Object.entries(batch.env!)) expect(got.env[name], name).toBe(name === 'DAG_RUN_ID' ? got.env.DAG_RUN_ID : value);
      expect(batch.env!.DAG_RUN_ID).toBe('<run id>');
    });
  });

  it("after the run: nothing to build, and --all renders every expected partition's batch with the same SQL", async () => {
    const none = await render(['COPY', '--range', RANGE]);
    expect(none).toContain('0 batch(es), 0 partition(s) to build');
    expect(none).toContain('-- nothing to build; --all renders');
    const all = JSON.parse(await render(['COPY', '--range', RANGE, '--all', '--json'])) as RenderJson;
    const log = readFileSync(join(project.dir, 'sql.log'), 'utf8');
    expect(all.batches.map((b) => b.sql!).sort()).toEqual(writtenSelects(log).sort());
    const shell = await render(['CMD', '--range', '2021-11-02', '--all']);
    expect(shell).toContain(
      "DAG_START_DATE=2021-11-02 DAG_END_DATE=2021-11-02 DAG_RUN_ID='<run id>' DAG_PROCESSOR=CMD DAG_TARGET=dev \\\n  node cmd.mjs 2021-11-02 2021-11-02 --target dev\n",
    );
  });

  it('refuses a source, an unknown processor and a bad range with exit 2', async () => {
    const [source, typo, range] = await Promise.all([
      project.dag(['render', 'src', '--range', RANGE]),
      project.dag(['render', 'COPPY', '--range', RANGE]),
      project.dag(['render', 'COPY', '--range', '2021-11-31']),
    ]);
    expect(source.code).toBe(2);
    expect(source.stderr).toContain("'src' is a source, not a processor");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean 'COPY'");
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('2021-11-31 is not a date on the calendar');
  });
});
