/** loadPipeline / requirePipeline: the resolved model, defaults and paths, exactly as model.ts defines. */
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { requirePipeline } from '../src/config/require.js';
import { parseIsoDate } from '../src/core/dates.js';
import { UserError } from '../src/core/diagnostics.js';
import { DEFAULTS, readsItself } from '../src/core/model.js';
import { tempProject } from './support/cli.js';

async function load(files: Record<string, string>, file?: string) {
  const dir = tempProject(files, 'dag-config-');
  const outcome = await loadPipeline({ cwd: dir, ...(file ? { file } : {}) });
  if (!outcome.ok) throw new Error(outcome.diagnostics.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`).join('\n'));
  return { dir, pipeline: outcome.pipeline, warnings: outcome.diagnostics };
}

describe('loadPipeline', () => {
  it('fills DEFAULTS, the folder name and the implicit dev target when the file says nothing', async () => {
    const { dir, pipeline } = await load({
      'pipeline.yaml': 'version: 1\nsources:\n  e: { table: raw.e }\nprocessors:\n  p: { table: m.p, upstream: [e], command: [./p.sh] }\n',
    });
    expect(pipeline.name).toBe(basename(dir));
    expect(pipeline.file).toBe(join(dir, 'pipeline.yaml'));
    expect(pipeline.defaultTarget).toBe('dev');
    expect(pipeline.targets.get('dev')).toEqual({ type: 'duckdb', name: 'dev', path: join(dir, '.dag', `${basename(dir)}.duckdb`), ledgerSchema: '_dag' });
    expect(pipeline.calendar).toBeUndefined();
    const p = pipeline.processors[0]!;
    expect(p).toMatchObject({
      kind: 'processor',
      table: { schema: 'm', name: 'p' },
      partitionColumn: DEFAULTS.partitionColumn,
      batchSize: DEFAULTS.batchSize,
      timeoutMs: DEFAULTS.timeoutMs,
      retries: DEFAULTS.retries,
      concurrency: DEFAULTS.concurrency,
      allowEmpty: false,
      start: undefined,
      notify: undefined,
      action: { kind: 'command', argv: ['./p.sh'] },
      upstream: [{ name: 'e', mapping: { kind: 'same' } }],
    });
    expect(pipeline.nodes.get('e')).toMatchObject({ kind: 'source', partitionColumn: 'date' });
  });

  it('processor settings beat defaults:, which beat DEFAULTS; mappings, dates and durations resolve', async () => {
    const { dir, pipeline } = await load(
      {
        'pipes/nba.yaml': `version: 1
name: nba
defaults: { partition_column: game_date, batch_size: 10, timeout: 2m, retries: 1, concurrency: 3, allow_empty: true }
notify: { webhook: https://hooks.example.com/all }
sources:
  box: { table: raw.box, partition_column: gd }
processors:
  A:
    table: m.a
    upstream: { box: { lookback: 15d, min: 7 }, A: { offset: -1 } }
    sql: sql/a.sql
    start: 2021-10-25
    batch_size: 7
    timeout: 1h
    retries: 0
    concurrency: 1
    allow_empty: false
    notify: { webhook: https://hooks.example.com/a }
  B:
    table: m.b
    partition_column: analysis_date
    upstream: { A: { offset: -2d }, box: { lookback: 14, exclude_current: true } }
    command: [python, b.py, "{start}"]
`,
        'pipes/sql/a.sql': "select * from {{ ref('box') }} union all select * from {{ this }}\n",
      },
      'pipes/nba.yaml',
    );
    const [a, b] = pipeline.processors;
    expect(a).toMatchObject({
      name: 'A',
      partitionColumn: 'game_date',
      batchSize: 7,
      timeoutMs: 3_600_000,
      retries: 0,
      concurrency: 1,
      allowEmpty: false,
      start: parseIsoDate('2021-10-25'),
      notify: { webhook: 'https://hooks.example.com/a' },
      action: { kind: 'sql', file: join(dir, 'pipes', 'sql', 'a.sql'), text: "select * from {{ ref('box') }} union all select * from {{ this }}\n" },
      upstream: [
        { name: 'box', mapping: { kind: 'lookback', window: 15, unit: 'days', min: 7, excludeCurrent: false } },
        { name: 'A', mapping: { kind: 'offset', offset: -1, unit: 'partitions' } },
      ],
    });
    expect(readsItself(a!)).toBe(true);
    expect(b).toMatchObject({
      partitionColumn: 'analysis_date',
      batchSize: 10,
      timeoutMs: 120_000,
      retries: 1,
      concurrency: 3,
      allowEmpty: true,
      upstream: [
        { name: 'A', mapping: { kind: 'offset', offset: -2, unit: 'days' } },
        { name: 'box', mapping: { kind: 'lookback', window: 14, unit: 'partitions', min: undefined, excludeCurrent: true } },
      ],
    });
    expect(pipeline.sources[0]).toMatchObject({ name: 'box', partitionColumn: 'gd' });
    expect(pipeline.notify).toEqual({ webhook: 'https://hooks.example.com/all' });
    expect(pipeline.targets.get('dev')).toMatchObject({ path: join(dir, 'pipes', '.dag', 'nba.duckdb') });
  });

  it('resolves both target types with their defaults and relative paths', async () => {
    const { dir, pipeline } = await load({
      'pipeline.yaml': `version: 1
targets:
  local: { type: duckdb, path: data/x.duckdb, ledger_schema: state }
  bq: { type: bigquery, project: proj }
  bq2: { type: bigquery, project: p2, location: EU, ledger_dataset: led, maximum_bytes_billed: 1000, labels: { a: b }, job_timeout: 5m, key_file: k.json, api_endpoint: "http://127.0.0.1:1", price_per_tib: 5 }
default_target: bq
processors:
  p: { table: m.p, command: [x] }
`,
    });
    expect(pipeline.defaultTarget).toBe('bq');
    expect(pipeline.targets.get('local')).toEqual({ type: 'duckdb', name: 'local', path: join(dir, 'data', 'x.duckdb'), ledgerSchema: 'state' });
    expect(pipeline.targets.get('bq')).toEqual({
      type: 'bigquery',
      name: 'bq',
      project: 'proj',
      location: 'US',
      ledgerSchema: '_dag',
      maximumBytesBilled: undefined,
      labels: {},
      jobTimeoutMs: undefined,
      keyFile: undefined,
      apiEndpoint: undefined,
      pricePerTib: DEFAULTS.pricePerTib,
    });
    expect(pipeline.targets.get('bq2')).toEqual({
      type: 'bigquery',
      name: 'bq2',
      project: 'p2',
      location: 'EU',
      ledgerSchema: 'led',
      maximumBytesBilled: 1000,
      labels: { a: 'b' },
      jobTimeoutMs: 300_000,
      keyFile: join(dir, 'k.json'),
      apiEndpoint: 'http://127.0.0.1:1',
      pricePerTib: 5,
    });
  });

  it('orders processors topologically, declaration order among peers, self-reads ignored', async () => {
    const { pipeline } = await load({
      'pipeline.yaml': `version: 1
processors:
  D: { table: m.d, upstream: [C, B], command: [x] }
  C: { table: m.c, upstream: { A: same, C: { offset: -1 } }, command: [x] }
  B: { table: m.b, command: [x] }
  A: { table: m.a, command: [x] }
`,
    });
    expect(pipeline.processors.map((p) => p.name)).toEqual(['B', 'A', 'C', 'D']);
  });

  it('loads a 10,000-processor chain without overflowing the stack', async () => {
    const n = 10_000;
    let yaml = 'version: 1\nprocessors:\n';
    for (let i = n - 1; i >= 0; i--) yaml += `  p${i}: { table: m.t${i}, ${i > 0 ? `upstream: [p${i - 1}], ` : ''}command: [x] }\n`;
    const { pipeline } = await load({ 'pipeline.yaml': yaml });
    expect(pipeline.processors.length).toBe(n);
    expect(pipeline.processors[0]!.name).toBe('p0');
    expect(pipeline.processors[n - 1]!.name).toBe(`p${n - 1}`);
  });

  it('returns warnings with a valid pipeline', async () => {
    const { warnings } = await load({
      'pipeline.yaml': 'version: 1\nsources:\n  e: { table: raw.e }\nprocessors:\n  p: { table: m.p, command: [x] }\n',
    });
    expect(warnings.map((w) => [w.code, w.severity])).toEqual([['unused-source', 'warning']]);
  });
});

describe('requirePipeline', () => {
  it('returns the pipeline and its warnings', async () => {
    const dir = tempProject(
      { 'pipeline.yaml': 'version: 1\nsources:\n  e: { table: raw.e }\nprocessors:\n  p: { table: m.p, command: [x] }\n' },
      'dag-config-',
    );
    const { pipeline, warnings } = await requirePipeline({ cwd: dir });
    expect(pipeline.processors.map((p) => p.name)).toEqual(['p']);
    expect(warnings.length).toBe(1);
  });

  it('throws one UserError (exit 2) naming the first error and pointing at dag validate', async () => {
    const dir = tempProject({ 'pipeline.yaml': 'version: 1\nprocessors:\n  p: { table: m, command: x }\n' }, 'dag-config-');
    const error = await requirePipeline({ cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(/^pipeline\.yaml is invalid: 2 errors; first: pipeline\.yaml:3:15 processors\.p\.table must be schema\.table/);
    expect((error as UserError).hint).toBe('run `dag validate` to see them all');
  });

  it('throws exit 2 when there is no pipeline', async () => {
    const dir = tempProject({}, 'dag-config-');
    const error = await requirePipeline({ cwd: dir, file: 'missing.yaml' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain('pipeline file missing.yaml does not exist');
  });
});
