/**
 * pipeline.yaml's fast path (issue 15): js-yaml reads files in a plain subset of YAML, the `yaml`
 * parser everything else. On every YAML file of the repository and on scalars where YAML parsers
 * usually differ, the values taken by the fast path are exactly `yaml`'s, and a file that leaves
 * the subset is left to `yaml`. A diagnostic in a fast-path file still names its line and column.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { fastYamlValue } from '../src/config/fast-yaml.js';
import { runDag, tempProject } from './support/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function yamlValue(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, merge: true });
  return doc.errors.length > 0 ? 'a syntax error' : doc.toJS();
}

const SCALARS = [
  'a: 1_000',
  'a: 0o17',
  'a: 0b11',
  'a: 1:30',
  'a: yes',
  'a: 2012-01-01',
  'a: 0x1F',
  'a: +.5',
  'a: 1.',
  'a: 007',
  'a: -0',
  'a: 9007199254740993',
  'a: 1e400',
  'a: .NaN',
  'a: -.inf',
  'a: 1e',
  'a: 12e3',
  '1: a\n2.5: b\ntrue: c',
  'a: [1, "x", null, ~, True, FALSE, NULL]',
  'a: {b: , c}',
  "a: 'it''s'",
  'a: "x\\u00e9"',
  'a:\n  - x\n  -\n  - y',
  'a: x y  z',
  'a: c:\\path',
  'a: x#y',
  'a: -x',
  '',
];

describe('the fast path for pipeline.yaml', () => {
  it('takes the same values as the yaml parser on every YAML file of the repository', () => {
    const files = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    let fast = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const read = fastYamlValue(text);
      if (!read) continue;
      fast++;
      expect(read.value, file).toStrictEqual(yamlValue(text));
    }
    expect(fast).toBeGreaterThan(files.length / 2);
  });

  it('resolves plain scalars as the yaml core schema does, and leaves what it cannot be sure of to the yaml parser', () => {
    for (const text of SCALARS) expect(fastYamlValue(text)?.value, text).toStrictEqual(yamlValue(text));
    for (const text of ['a: &x 1\nb: *x', 'a: |\n  x', 'a: !!str 1', 'a: 1\na: 2', 'a: x\n  y', '~: x', 'null: 1', '[a]: b', 'a: [1, 2', 'a: 1\n---\nb: 2'])
      expect(fastYamlValue(text), text).toBeUndefined();
  });

  it('still names the line and column of a problem in a file it read', async () => {
    const dir = tempProject({}, 'dag-fast-yaml-');
    dirs.push(dir);
    writeFileSync(
      join(dir, 'pipeline.yaml'),
      [
        'version: 1',
        'sources:',
        '  events: { table: raw.events }',
        'processors:',
        '  daily:',
        '    table: mart.daily',
        '    upstream: { events: same }',
        '    sql: sql/missing.sql',
        '',
      ].join('\n'),
    );
    expect(fastYamlValue(readFileSync(join(dir, 'pipeline.yaml'), 'utf8'))).toBeDefined();
    const result = await runDag(['validate'], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/pipeline\.yaml:8:\d+/);
  });
});
