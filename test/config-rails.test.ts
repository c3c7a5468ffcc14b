/**
 * Rails of the config layer (issue 11, item 6), through the real CLI: webhook URLs with credentials
 * are refused and no message shows a webhook URL whole; sql: and code: stay inside the project
 * folder, symlinks included; no processor writes into the ledger schema.
 */
import { rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsIn } from '../src/core/redact.js';
import { notifyAll, postJson } from '../src/runner/notify.js';
import { looksLikeStackTrace, runDag, tempProject } from './support/cli.js';
import { copySql, makeProject, pipelineYaml, tableExists } from './fixtures/run/project.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = tempProject(files, 'dag-rails-');
  made.push(dir);
  return dir;
}

interface JsonDiagnostic {
  code: string;
  severity: string;
  message: string;
  line: number;
  column: number;
}

async function validate(cwd: string, args: string[] = []): Promise<{ code: number | null; diagnostics: JsonDiagnostic[]; output: string }> {
  const result = await runDag(['validate', '--format', 'json', ...args], { cwd });
  expect(looksLikeStackTrace(result.stdout + result.stderr)).toBe(false);
  return { code: result.code, diagnostics: JSON.parse(result.stdout) as JsonDiagnostic[], output: result.stdout + result.stderr };
}

const SECRET = 'root:x:0:0:SECRET-LINE:/root:/bin/bash';

describe('webhook URLs', () => {
  it('validate refuses credentials; plan and run refuse the file; the password is never printed', async () => {
    const yaml = pipelineYaml(
      `  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
`,
      'notify: { webhook: "http://bob:hunter2@127.0.0.1:9/hook/T0-secret" }',
    );
    const p = await makeProject(yaml, { 'sql/a.sql': copySql('src') }, 1);
    made.push(p.dir);
    const checked = await validate(p.dir);
    expect(checked.code).toBe(1);
    expect(checked.diagnostics.map((d) => [d.code, d.line])).toEqual([['webhook-credentials', 7]]);
    expect(checked.diagnostics[0]!.message).toContain('http://127.0.0.1:9/…');
    const text = await runDag(['validate'], { cwd: p.dir });
    for (const args of [
      ['plan', '--range', '2021-11-01'],
      ['run', '--range', '2021-11-01'],
    ]) {
      const result = await p.dag(args);
      expect(result.code, args[0]).toBe(2);
      expect(result.stderr).toMatch(/webhook URL http:\/\/127\.0\.0\.1:9\/… at notify\.webhook has credentials/);
      for (const output of [result.stdout + result.stderr, checked.output, text.stdout + text.stderr]) {
        expect(output).not.toContain('hunter2');
        expect(output).not.toContain('T0-secret');
      }
    }
  });

  it('a URL the schema refuses is shown redacted too', async () => {
    const dir = project({ 'pipeline.yaml': 'version: 1\nnotify: { webhook: "ftp://bob:hunter2@files.example.com/drop" }\n' });
    const checked = await validate(dir);
    expect(checked.diagnostics.map((d) => d.code)).toEqual(['invalid-url', 'webhook-credentials']);
    expect(checked.diagnostics[0]!.message).toContain("'ftp://files.example.com/…'");
    expect(checked.output).not.toContain('hunter2');
    // A URL where a mapping belongs.
    const misplaced = await validate(project({ 'pipeline.yaml': 'version: 1\nnotify: "https://bob:hunter2@hooks.example.com/x"\n' }));
    expect(misplaced.diagnostics.map((d) => d.message)).toEqual(["notify must be a mapping, not the string 'https://hooks.example.com/…'"]);
    expect(misplaced.output).not.toContain('hunter2');
  });

  it('redactUrl keeps scheme and host; a failed post never quotes the URL whole', async () => {
    expect(redactUrl('https://hooks.slack.com/services/T0/B1/xyz')).toBe('https://hooks.slack.com/…');
    expect(redactUrl('https://u:p@hooks.example.com:8443/?token=1')).toBe('https://hooks.example.com:8443/…');
    expect(redactUrl('https://hooks.example.com')).toBe('https://hooks.example.com');
    expect(redactUrl('hooks.example.com/T0/secret')).toBe('hooks.example.com/…');
    expect(redactUrlsIn('refused: http://u:p@h.example/a/b, then https://x.example/y')).toBe('refused: http://h.example/…, then https://x.example/…');
    // fetch itself refuses a URL with credentials and names the URL in its error.
    const url = 'http://bob:hunter2@127.0.0.1:9/hook';
    const error = await postJson(url, {});
    expect(error).toContain('hunter2');
    const warnings = await notifyAll(postJson, [url], {});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^webhook http:\/\/127\.0\.0\.1:9\/… failed: /);
    expect(warnings[0]).not.toContain('hunter2');
  });

  it('a failing webhook with a secret path is reported by host only in a real run', async () => {
    const server: Server = createServer((_, res) => res.writeHead(500).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const yaml = pipelineYaml(
        `  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
`,
        `notify: { webhook: "http://127.0.0.1:${port}/services/T0-secret?token=abc" }`,
      );
      const p = await makeProject(yaml, { 'sql/a.sql': copySql('src') }, 1);
      made.push(p.dir);
      const result = await p.dag(['run', '--range', '2021-11-01']);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`webhook http://127.0.0.1:${port}/… failed: HTTP 500`);
      expect(result.stdout + result.stderr).not.toMatch(/T0-secret|token=abc/);
    } finally {
      server.close();
    }
  });
});

describe('paths stay inside the project folder', () => {
  const outside = project({ passwd: `${SECRET}\n`, 'lib/util.py': 'X = 1\n', 'shared.py': 'print(1)\n' });
  const head = 'version: 1\nsources:\n  src: { table: raw.src }\nprocessors:\n';

  it('sql: ../.. or an absolute path elsewhere is refused before the file is read', async () => {
    const dir = project({ 'pipeline.yaml': `${head}  A:\n    table: p.a\n    upstream: [src]\n    sql: ${join(outside, 'passwd')}\n` });
    const checked = await validate(dir);
    expect(checked.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([['path-outside-project', 8, 10]]);
    const result = await runDag(['run', '--range', '2021-11-01'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/SQL file .*passwd is outside the project folder/);
    for (const output of [checked.output, result.stdout + result.stderr]) expect(output).not.toContain('SECRET-LINE');
  });

  it('a SQL file that is a link to a file outside is refused; links inside, and a project reached through a link, are fine', async () => {
    const dir = project({
      'pipeline.yaml': `${head}  A:\n    table: p.a\n    upstream: [src]\n    sql: sql/a.sql\n  B:\n    table: p.b\n    upstream: [src]\n    sql: sql/b.sql\n`,
      'sql/real-b.sql': copySql('src'),
    });
    symlinkSync(join(outside, 'passwd'), join(dir, 'sql', 'a.sql'));
    symlinkSync(join(dir, 'sql', 'real-b.sql'), join(dir, 'sql', 'b.sql'));
    const checked = await validate(dir);
    expect(checked.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([['path-outside-project', 8, 10]]);
    expect(checked.diagnostics[0]!.message).toBe('processor A: SQL file sql/a.sql is a link to a file outside the project folder');
    expect(checked.output).not.toContain('SECRET-LINE');

    const ok = project({
      'project/pipeline.yaml': `${head}  B:\n    table: p.b\n    upstream: [src]\n    sql: sql/b.sql\n`,
      'project/sql/b.sql': copySql('src'),
    });
    symlinkSync(join(ok, 'project'), join(ok, 'link'));
    const viaLink = await validate(ok, ['--pipeline', 'link/pipeline.yaml']);
    expect(viaLink.diagnostics).toEqual([]);
    expect(viaLink.code).toBe(0);
  });

  it('a code: glob that matches a link out is an error; a relative argv file outside is a warning', async () => {
    const dir = project({
      'pipeline.yaml': `${head}  C:\n    table: p.c\n    upstream: [src]\n    command: [python, jobs/c.py, ../${outside.split('/').pop()}/shared.py]\n    code: [jobs/lib/**/*.py]\n`,
      'jobs/c.py': 'print(1)\n',
      'jobs/lib/own.py': 'Y = 2\n',
    });
    symlinkSync(join(outside, 'lib'), join(dir, 'jobs', 'lib', 'vendor'));
    const checked = await validate(dir);
    expect(checked.diagnostics.map((d) => [d.code, d.severity, d.line, d.column])).toEqual([
      ['command-file-outside-project', 'warning', 8, 34],
      ['path-outside-project', 'error', 9, 12],
    ]);
    expect(checked.diagnostics[1]!.message).toBe(
      'processor C: code glob jobs/lib/**/*.py matches jobs/lib/vendor/util.py, a link to a file outside the project folder',
    );
  });
});

describe('the ledger schema', () => {
  it('no processor may write a table in it: run refuses before anything is written', async () => {
    const yaml = pipelineYaml(`  A:
    table: _DAG.partitions
    upstream: [src]
    sql: sql/a.sql
`);
    const p = await makeProject(yaml, { 'sql/a.sql': copySql('src') }, 1);
    made.push(p.dir);
    const checked = await validate(p.dir);
    expect(checked.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([['ledger-schema-table', 12, 12]]);
    expect(checked.diagnostics[0]!.message).toBe('processor A writes _DAG.partitions, in _dag, the ledger schema of target dev, where dag keeps its own state');
    const result = await p.dag(['run', '--range', '2021-11-01']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the ledger schema of target dev');
    expect(await tableExists(p.db, '_dag', 'partitions')).toBe(false);
  });

  it('follows ledger_schema: the default _dag is then an ordinary schema', async () => {
    const dir = project({
      'pipeline.yaml': `version: 1\ntargets:\n  dev: { type: duckdb, path: .dag/x.duckdb, ledger_schema: dag_meta }\nsources:\n  src: { table: raw.src }\nprocessors:\n  A: { table: _dag.a, upstream: [src], sql: sql/a.sql }\n  B: { table: dag_meta.b, upstream: [src], sql: sql/a.sql }\n`,
      'sql/a.sql': copySql('src'),
    });
    const checked = await validate(dir);
    expect(checked.diagnostics.map((d) => [d.code, d.line])).toEqual([['ledger-schema-table', 8]]);
  });
});
