/** `dag validate` as a user meets it: formats, exit codes, discovery, --pipeline, the repo's own file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeStackTrace, projectRoot, runDag, tempProject } from './support/cli.js';

const VALID = `version: 1
sources:
  events: { table: raw.events }
  unused: { table: raw.unused }
processors:
  daily: { table: mart.daily, upstream: [events], command: [./daily.sh] }
`;
const INVALID = `version: 1
sources:
  events: { table: raw.events }
processors:
  daily: { table: mart.daily, upstream: [evnts], command: [./daily.sh], timeout: 10 minutes }
`;

function clean(result: { stdout: string; stderr: string }): void {
  expect(looksLikeStackTrace(result.stdout + result.stderr)).toBe(false);
}

describe('dag validate', () => {
  it("accepts the repo's pipeline.yaml", async () => {
    const result = await runDag(['validate'], { cwd: projectRoot });
    clean(result);
    expect(result.stdout).toMatch(/^pipeline\.yaml is valid/m);
    expect(result.code).toBe(0);
  });

  it('text: one block per diagnostic with a hint, then the verdict; exit 1 on errors', async () => {
    const dir = tempProject({ 'pipeline.yaml': INVALID });
    const result = await runDag(['validate'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "pipeline.yaml:5:42 error unknown-upstream processor daily reads 'evnts', which is neither a source nor a processor; did you mean 'events'?\n  hint: ",
    );
    expect(result.stdout).toContain('pipeline.yaml:5:82 error invalid-duration ');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('pipeline.yaml is invalid: 2 errors, 1 warning');
  });

  it('never suggests a processor read itself when its upstream name is a typo', async () => {
    const dir = tempProject({
      'pipeline.yaml': 'version: 1\nprocessors:\n  MLFS: { table: p.mlfs, upstream: [MLSF], command: [./x.sh] }\n  PCF: { table: p.pcf, command: [./y.sh] }\n',
    });
    const r = await runDag(['validate'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("processor MLFS reads 'MLSF', which is neither a source nor a processor");
    expect(r.stdout + r.stderr).not.toContain("did you mean 'MLFS'");
  });

  it('text: warnings alone exit 0 and are counted in the verdict', async () => {
    const dir = tempProject({ 'pipeline.yaml': VALID });
    const result = await runDag(['validate'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('pipeline.yaml:4:3 warning unused-source source unused is read by no processor');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('pipeline.yaml is valid (1 warning)');
  });

  it('json: prints the diagnostics array', async () => {
    const dir = tempProject({ 'pipeline.yaml': INVALID });
    const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(1);
    const diagnostics = JSON.parse(result.stdout) as { code: string; severity: string; line: number; column: number; hint: string }[];
    expect(diagnostics.map((d) => [d.code, d.severity, d.line, d.column])).toEqual([
      ['unused-source', 'warning', 3, 3],
      ['unknown-upstream', 'error', 5, 42],
      ['invalid-duration', 'error', 5, 82],
    ]);
    expect(diagnostics.every((d) => d.hint.length > 0)).toBe(true);
  });

  it('json: an empty array for a clean file', async () => {
    const dir = tempProject({ 'pipeline.yaml': VALID.replace('  unused: { table: raw.unused }\n', '') });
    const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('github: ::error / ::warning annotations with file, line and col', async () => {
    const dir = tempProject({ 'pipeline.yaml': INVALID });
    const result = await runDag(['validate', '--format', 'github'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^::warning file=pipeline\.yaml,line=3,col=3,title=dag unused-source::source events is read by no processor%0Ahint: /);
    expect(lines[1]).toMatch(/^::error file=pipeline\.yaml,line=5,col=42,title=dag unknown-upstream::processor daily reads 'evnts'/);
    expect(lines[2]).toMatch(/^::error file=pipeline\.yaml,line=5,col=82,title=dag invalid-duration::/);
    expect(lines.at(-1)).toBe('pipeline.yaml is invalid: 2 errors, 1 warning');
  });

  it('exit 2 when no pipeline file is found, in every format', async () => {
    const dir = tempProject({ 'README.md': 'nothing here' });
    const text = await runDag(['validate'], { cwd: dir });
    clean(text);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('no pipeline.yaml found in');
    expect(text.stderr).toContain('hint: ');
    const json = await runDag(['validate', '--format', 'json'], { cwd: dir });
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { code: string }[])[0]?.code).toBe('pipeline-not-found');
    const github = await runDag(['validate', '--format', 'github'], { cwd: dir });
    expect(github.code).toBe(2);
    expect(github.stdout).toMatch(/^::error file=pipeline\.yaml,title=dag pipeline-not-found::no pipeline\.yaml found/);
  });

  it('exit 2 for --pipeline naming a missing file or a folder', async () => {
    const dir = tempProject({ 'pipeline.yaml': VALID, 'sub/x.txt': '' });
    const missing = await runDag(['validate', '--pipeline', 'nope.yaml'], { cwd: dir });
    clean(missing);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('pipeline file nope.yaml does not exist');
    const folder = await runDag(['validate', '--pipeline', 'sub'], { cwd: dir });
    clean(folder);
    expect(folder.code).toBe(2);
  });

  it('exit 2 for an unknown --format', async () => {
    const dir = tempProject({ 'pipeline.yaml': VALID });
    const result = await runDag(['validate', '--format', 'xml'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(2);
  });

  it('--pipeline picks another file; SQL paths resolve relative to that file', async () => {
    const dir = tempProject({
      'pipeline.yaml': INVALID,
      'other/pipe.yaml': 'version: 1\nsources:\n  e: { table: raw.e }\nprocessors:\n  p: { table: m.p, upstream: [e], sql: sql/p.sql }\n',
      'other/sql/p.sql': "select * from {{ ref('e') }}\n",
    });
    const result = await runDag(['validate', '--pipeline', 'other/pipe.yaml'], { cwd: dir });
    clean(result);
    expect(result.stdout.trim()).toBe('other/pipe.yaml is valid');
    expect(result.code).toBe(0);
  });

  it('finds pipeline.yaml in a parent folder, and positions are relative to the working directory when inside it', async () => {
    const dir = tempProject({ 'pipeline.yaml': INVALID });
    const nested = join(dir, 'a', 'b');
    mkdirSync(nested, { recursive: true });
    const result = await runDag(['validate', '--format', 'json'], { cwd: nested });
    expect(result.code).toBe(1);
    const files = new Set((JSON.parse(result.stdout) as { file: string }[]).map((d) => d.file));
    expect(files).toEqual(new Set([join(dir, 'pipeline.yaml')]));
  });

  it('reads a `dag` key in package.json, with positions', async () => {
    const dir = tempProject({
      'package.json': JSON.stringify({ name: 'x', dag: { version: 1, processors: { p: { table: 'm.p', command: ['./p.sh'], retries: 'two' } } } }, null, 2),
    });
    const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject([{ code: 'wrong-type', file: 'package.json', line: 11, column: 20 }]);
  });

  it('reads dag.config.mjs (no positions there)', async () => {
    const dir = tempProject({
      'dag.config.mjs': "export default { version: 1, processors: { p: { table: 'm.p', command: ['./p.sh'], batch_size: 0 } } };\n",
    });
    const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject([{ code: 'invalid-value', file: 'dag.config.mjs', line: 0, column: 0 }]);
  });

  it('a JS config that throws is reported without a stack trace (exit 2)', async () => {
    const dir = tempProject({ 'dag.config.mjs': "throw new Error('boom at config time');\n" });
    const result = await runDag(['validate'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('boom at config time');
  });

  it('a JS config with a syntax error says so (not a require() race), exit 2', async () => {
    const dir = tempProject({ 'dag.config.mjs': 'export default {\n' });
    const result = await runDag(['validate'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SyntaxError');
    expect(result.stderr).not.toContain('require()');
  });

  it('a JS config exporting a function or a number is told to export the pipeline object', async () => {
    for (const [source, what] of [
      ['export default () => ({ version: 1 });\n', 'a function'],
      ['export default 42;\n', 'the integer 42'],
    ] as const) {
      const dir = tempProject({ 'dag.config.mjs': source });
      const result = await runDag(['validate'], { cwd: dir });
      clean(result);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`dag.config.mjs must export the pipeline as a plain object, not ${what}`);
    }
  });

  it('a string under package.json "dag" is named as that key, not as "the top level"', async () => {
    const dir = tempProject({ 'package.json': JSON.stringify({ name: 'x', dag: 'pipeline.yaml' }) });
    const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(1);
    const [diagnostic] = JSON.parse(result.stdout) as { code: string; message: string; line: number; column: number }[];
    expect(diagnostic).toMatchObject({ code: 'wrong-type', line: 1, column: 19 });
    expect(diagnostic!.message).toContain('the "dag" key of package.json must be the pipeline itself');
  });

  it('plan refuses a file whose aliases would expand without bound, without an internal error', async () => {
    const layers = ['x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      layers.push(
        `x-a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const dir = tempProject({ 'pipeline.yaml': `version: 1\n${layers.join('\n')}\n` });
    const result = await runDag(['plan', '--range', '2021-11-01'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('aliases expand to more than 100,000 values');
    expect(result.stderr).not.toContain('bug in dag');
  });

  // root reads every file whatever its mode, so this can only be shown as another user.
  it.skipIf(process.getuid?.() === 0)(
    `an unreadable pipeline.yaml exits 2${process.getuid?.() === 0 ? ' (skipped: running as root, which can read any file)' : ''}`,
    async () => {
      const dir = tempProject({ 'pipeline.yaml': VALID });
      const { chmodSync } = await import('node:fs');
      chmodSync(join(dir, 'pipeline.yaml'), 0o000);
      const result = await runDag(['validate', '--pipeline', 'pipeline.yaml'], { cwd: dir });
      clean(result);
      expect(result.code).toBe(2);
    },
  );

  it('other verbs refuse an invalid pipeline with one line pointing at dag validate', async () => {
    const dir = tempProject({ 'pipeline.yaml': INVALID });
    writeFileSync(join(dir, 'daily.sh'), '#!/bin/sh\n');
    const result = await runDag(['plan', '--range', '2021-11-01'], { cwd: dir });
    clean(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pipeline.yaml is invalid: 2 errors; first: pipeline.yaml:5:42');
    expect(result.stderr).toContain('run `dag validate` to see them all');
  });
});
