/**
 * DESIGN §3 "Code of commands": a command's code fingerprint covers the content of the files it runs
 * (argv items naming files of the project, and its `code:` globs). Through the real CLI on a real
 * DuckDB file: editing the script or an imported module rebuilds; touching a file, or checking it
 * out with CRLF line endings, does not; a command whose argv names no file keeps its fingerprint.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { codeFingerprint } from '../src/core/fingerprint.js';
import { queryRows } from './support/duckdb.js';
import { tempProject } from './support/cli.js';
import { duckdbScript, isoDay, makeProject, parseRunJson, pipelineYaml, processorOf, type Project } from './fixtures/run/project.js';

const RANGE = `${isoDay(0)}..${isoDay(2)}`;
const DAYS = [isoDay(0), isoDay(1), isoDay(2)];

/** Copies raw.src into `table` for the batch's days, tagged with what jobs/lib/tag.mjs exports. */
function copyScript(table: string, tagFrom: string | undefined): string {
  return `${tagFrom ? `import { TAG } from ${JSON.stringify(tagFrom)};\n` : "const TAG = 'inline';\n"}${duckdbScript(`
const [from, to] = [process.env.DAG_START_DATE, process.env.DAG_END_DATE];
await db.run("create schema if not exists p");
await db.run("create table if not exists ${table} (d DATE, id INTEGER, tag VARCHAR)");
await db.run(\`delete from ${table} where d between DATE '\${from}' and DATE '\${to}'\`);
await db.run(\`insert into ${table} select d, id, '\${TAG}' from raw.src where d between DATE '\${from}' and DATE '\${to}'\`);
`)}`;
}

// INLINE runs a script given on the command line: no file of the project, so nothing to hash.
const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/cmd.mjs, --day, "{start}"]
    code: [jobs/lib/*.mjs]
  INLINE:
    table: p.inline
    upstream: [src]
    command: [node, --input-type=module, -e, ${JSON.stringify(copyScript('p.inline', undefined))}]
`);

interface PlanJson {
  processors: { name: string; partitions: { date: string; status: string; reasons?: { kind: string }[] }[] }[];
  summary: { build: number };
}

async function plan(project: Project): Promise<PlanJson> {
  const result = await project.dag(['plan', '--range', RANGE, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PlanJson;
}

/** Each non-fresh partition of a processor: date and reason kinds. */
function staleOf(json: PlanJson, name: string): { date: string; reasons: string[] }[] {
  return (json.processors.find((p) => p.name === name)?.partitions ?? []).map((p) => ({ date: p.date, reasons: (p.reasons ?? []).map((r) => r.kind) }));
}

const codeChangedEveryDay = DAYS.map((date) => ({ date, reasons: ['code_changed'] }));

async function tags(project: Project): Promise<string[]> {
  const rows = await queryRows(project.db, 'select distinct tag from p.cmd order by 1');
  return rows.map((r) => String(r.tag));
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('the code of a command', () => {
  it('edits to its script or an imported module rebuild its partitions; touching or CRLF do not; argv with no file is untouched', async () => {
    const project = await makeProject(yaml, { 'jobs/cmd.mjs': copyScript('p.cmd', './lib/tag.mjs'), 'jobs/lib/tag.mjs': "export const TAG = 'v1';\n" }, 3);
    made.push(project.dir);
    const script = join(project.dir, 'jobs', 'cmd.mjs');
    const module = join(project.dir, 'jobs', 'lib', 'tag.mjs');

    const first = parseRunJson(await project.dag(['run', '--range', RANGE, '--json']));
    expect(processorOf(first, 'CMD').built).toEqual(DAYS);
    expect(processorOf(first, 'INLINE').built).toEqual(DAYS);
    expect((await plan(project)).summary.build).toBe(0);

    // Touched, and rewritten with the same bytes: content counts, not time stamps.
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(script, later, later);
    writeFileSync(module, readFileSync(module));
    utimesSync(module, later, later);
    expect((await plan(project)).summary.build).toBe(0);
    // A Windows checkout: the same lines with CRLF endings.
    writeFileSync(script, readFileSync(script, 'utf8').replace(/\n/g, '\r\n'));
    expect((await plan(project)).summary.build).toBe(0);

    // An edit to the script (a comment is an edit: code files are hashed, not parsed).
    writeFileSync(script, `// points are now rounded\n${readFileSync(script, 'utf8')}`);
    const edited = await plan(project);
    expect(staleOf(edited, 'CMD')).toEqual(codeChangedEveryDay);
    expect(staleOf(edited, 'INLINE')).toEqual([]);
    const second = parseRunJson(await project.dag(['run', '--range', RANGE, '--json']));
    expect(processorOf(second, 'CMD').built).toEqual(DAYS);
    expect(processorOf(second, 'INLINE').built).toEqual([]);
    expect((await plan(project)).summary.build).toBe(0);

    // An edit to a module the script imports, tracked through code: — and the rebuild uses it.
    writeFileSync(module, "export const TAG = 'v2';\n");
    expect(staleOf(await plan(project), 'CMD')).toEqual(codeChangedEveryDay);
    const third = parseRunJson(await project.dag(['run', '--range', RANGE, '--json']));
    expect(processorOf(third, 'CMD').built).toEqual(DAYS);
    expect(processorOf(third, 'INLINE').built).toEqual([]);
    expect(await tags(project)).toEqual(['v2']);
    expect((await plan(project)).summary.build).toBe(0);
  });

  it('keeps the fingerprints SQL processors and file-less commands had before files were tracked', async () => {
    const dir = tempProject({
      'sql/a.sql': "select d, id from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n",
      'pipeline.yaml': `version: 1
sources:
  src: { table: raw.src }
processors:
  A: { table: p.a, upstream: [src], sql: sql/a.sql, partition_column: d }
  C: { table: p.c, upstream: [A], command: [node, -e, "console.log(1)", --day, "{start}"], partition_column: d }
`,
    });
    made.push(dir);
    const outcome = await loadPipeline({ cwd: dir });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.diagnostics));
    // Pinned from the release before: a change here would make every existing ledger row code_changed.
    expect(Object.fromEntries(outcome.pipeline.processors.map((p) => [p.name, codeFingerprint(p)]))).toEqual({ A: '9c1e3ab0b3566bda', C: 'f86aad7dea867db7' });
    expect(outcome.pipeline.processors.map((p) => p.codeFiles)).toEqual([[], []]);
  });

  it('recognises argv files relative to the project folder, `--opt=FILE` values, never placeholders, folders or programs', async () => {
    const dir = tempProject({
      'pipeline.yaml': `version: 1
sources:
  src: { table: raw.src }
processors:
  C:
    table: p.c
    upstream: [src]
    command: [node, ./jobs/c.mjs, --config=conf/c.json, jobs, "{start}", "bin/{target}.sh", /bin/sh]
    code: [jobs/lib, "jobs/*.mjs"]
`,
      'jobs/c.mjs': 'x\r\n',
      'bin/{target}.sh': 'never hashed',
      'jobs/lib/a.mjs': 'a\n',
      'jobs/lib/deep/b.mjs': 'b\n',
      'conf/c.json': '{}\n',
    });
    made.push(dir);
    const outcome = await loadPipeline({ cwd: join(dir, 'jobs') });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.diagnostics));
    const files = outcome.pipeline.processors[0]!.codeFiles;
    // Each file once (jobs/c.mjs is named by argv and matched by a glob), sorted, relative to the project.
    expect(files.map((f) => f.path)).toEqual(['conf/c.json', 'jobs/c.mjs', 'jobs/lib/a.mjs', 'jobs/lib/deep/b.mjs']);
    // sha256 of "x\n": CRLF reads as LF.
    expect(files[1]!.hash).toBe(createHash('sha256').update('x\n').digest('hex'));
    expect(outcome.diagnostics).toEqual([]);
  });
});
