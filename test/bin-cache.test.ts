/**
 * bin/dag.js runs the bundle with V8's code cache (dist/bundle/.v8-cache/). A cache must never change
 * what dag does: these tests run a private copy of the package so they can corrupt, replace and lock
 * its cache without touching the one other tests use.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeStackTrace, projectRoot, tempProject } from './support/cli.js';

const PIPELINE = `version: 1
name: cached
sources:
  raw: { table: raw.events, partition_column: d }
processors:
  daily:
    table: out.daily
    upstream: [raw]
    sql: daily.sql
    partition_column: d
`;

/** A copy of the built package: bin, bundle and validator copied; schema and node_modules linked. */
function privatePackage(): string {
  const root = tempProject({}, 'dag-bin-cache-');
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist', 'bundle'), { recursive: true });
  for (const file of ['dag.js', 'package.json']) copyFileSync(join(projectRoot, 'bin', file), join(root, 'bin', file));
  for (const file of ['dag.cjs', 'pipeline-validator.cjs']) copyFileSync(join(projectRoot, 'dist', 'bundle', file), join(root, 'dist', 'bundle', file));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(projectRoot, 'schema'), join(root, 'schema'));
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'));
  return root;
}

function dag(pkg: string, cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(pkg, 'bin', 'dag.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheDir = (pkg: string): string => join(pkg, 'dist', 'bundle', '.v8-cache');
const cacheFiles = (pkg: string): string[] => readdirSync(cacheDir(pkg)).sort();

describe('bin/dag.js code cache', () => {
  it('writes one cache per verb on first use and gives the same answers from it', () => {
    const pkg = privatePackage();
    const project = tempProject({
      'pipeline.yaml': PIPELINE,
      'daily.sql': "SELECT d, count(*) AS n FROM {{ ref('raw') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY 1\n",
    });
    const cold = dag(pkg, project, 'plan', '--range', '2021-11-01..2021-11-03', '--json');
    expect(cold.code, cold.stderr).toBe(0);
    expect(cacheFiles(pkg)).toEqual([expect.stringMatching(/^[0-9a-f]{24}-plan\.bin$/)]);
    const [file] = cacheFiles(pkg);
    const written = readFileSync(join(cacheDir(pkg), file as string));
    const warm = dag(pkg, project, 'plan', '--range', '2021-11-01..2021-11-03', '--json');
    const withoutTiming = (stdout: string) => ({ ...JSON.parse(stdout), stats: undefined });
    expect(warm.code).toBe(0);
    expect(warm.stderr).toBe(cold.stderr);
    expect(withoutTiming(warm.stdout)).toEqual(withoutTiming(cold.stdout));
    expect(JSON.parse(warm.stdout).processors[0].counts).toMatchObject({ expected: 3 });
    // Accepted, so not rewritten.
    expect(readFileSync(join(cacheDir(pkg), file as string)).equals(written)).toBe(true);
    expect(dag(pkg, project, 'validate').code).toBe(0);
    expect(cacheFiles(pkg)).toHaveLength(2);
  });

  it('keeps no cache from a usage error, and help or version never stands in for a verb', () => {
    const pkg = privatePackage();
    const project = tempProject({ 'pipeline.yaml': PIPELINE, 'daily.sql': 'SELECT 1\n' });
    expect(dag(pkg, project, 'plan', '--bogus').code).toBe(2);
    expect(dag(pkg, project, 'plan', '--help').code).toBe(0);
    expect(cacheFiles(pkg)).toEqual([expect.stringMatching(/-other\.bin$/)]);
  });

  it('survives a damaged cache (V8 rejects it) and replaces it', () => {
    const pkg = privatePackage();
    const project = tempProject({ 'pipeline.yaml': PIPELINE, 'daily.sql': 'SELECT 1\n' });
    const first = dag(pkg, project, 'validate');
    const [file] = cacheFiles(pkg);
    writeFileSync(join(cacheDir(pkg), file as string), Buffer.alloc(4096, 7));
    const again = dag(pkg, project, 'validate');
    expect(again).toEqual(first);
    expect(readFileSync(join(cacheDir(pkg), file as string)).equals(Buffer.alloc(4096, 7))).toBe(false);
  });

  it('never uses a cache made from other bundle content, even of the same length', () => {
    const pkg = privatePackage();
    const project = tempProject({ 'pipeline.yaml': PIPELINE, 'daily.sql': 'SELECT 1\n' });
    dag(pkg, project, 'validate');
    const bundle = join(pkg, 'dist', 'bundle', 'dag.cjs');
    const text = readFileSync(bundle, 'utf8');
    // Same length, different content: V8's own check (length-based) would accept the old cache.
    writeFileSync(bundle, text.replace('is valid', 'IS VALID'));
    const changed = dag(pkg, project, 'validate');
    expect(changed.stdout).toContain('IS VALID');
    expect(cacheFiles(pkg)).toHaveLength(2);
    appendFileSync(bundle, '\n');
    expect(dag(pkg, project, 'validate').stdout).toContain('IS VALID');
  });

  it('runs without a word when the cache cannot be written', () => {
    const pkg = privatePackage();
    const project = tempProject({ 'pipeline.yaml': PIPELINE, 'daily.sql': 'SELECT 1\n' });
    // A file where the cache folder should be: mkdir fails.
    writeFileSync(cacheDir(pkg), 'not a folder');
    const r = dag(pkg, project, 'validate');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(looksLikeStackTrace(r.stdout + r.stderr)).toBe(false);
    rmSync(cacheDir(pkg));
  });

  it('says how to build when the bundle is missing', () => {
    const pkg = privatePackage();
    rmSync(join(pkg, 'dist'), { recursive: true });
    const r = dag(pkg, pkg, 'validate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/compiled CLI is missing.*npm ci/);
  });
});
