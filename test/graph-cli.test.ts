/**
 * `dag graph` through the real binary, in each format: Mermaid read back by a small parser, dot
 * compiled by Graphviz (`dot -Tsvg`, when Debian's graphviz is installed: .ci/run installs it), and
 * JSON validated against schema/graph.schema.json. Every kind of mapping appears as an edge label.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeStackTrace, projectRoot, runDag, tempProject } from './support/cli.js';

const PIPELINE = `version: 1
name: graphs
calendar: schedule
sources:
  schedule: { table: raw.schedule }
  boxscores: { table: raw.boxscores }
processors:
  TDZA:
    table: precompute.tdza
    upstream: { boxscores: { lookback: 15d } }
    command: [./tdza.sh]
  PSZA:
    table: precompute.psza
    upstream: { boxscores: { lookback: 14, min: 10 } }
    command: [./psza.sh]
  PCF:
    table: precompute.pcf
    upstream: [TDZA, PSZA]
    command: [./pcf.sh]
  SEASON:
    table: precompute.season
    start: 2021-10-19
    upstream: { PCF: same, SEASON: { offset: -1 }, boxscores: { offset: -3d } }
    command: [./season.sh]
  MLFS:
    table: predictions.mlfs
    upstream: { PCF: same, PSZA: { offset: -1 }, SEASON: { lookback: 7, exclude_current: true } }
    command: [./mlfs.sh]
`;

/** The edges every format must show: [from, to, label]. */
const EDGES: readonly [string, string, string][] = [
  ['boxscores', 'TDZA', 'lookback 15d'],
  ['boxscores', 'PSZA', 'lookback 14 min 10'],
  ['TDZA', 'PCF', 'same'],
  ['PSZA', 'PCF', 'same'],
  ['PCF', 'SEASON', 'same'],
  ['SEASON', 'SEASON', 'offset -1'],
  ['boxscores', 'SEASON', 'offset -3d'],
  ['PCF', 'MLFS', 'same'],
  ['PSZA', 'MLFS', 'offset -1'],
  ['SEASON', 'MLFS', 'lookback 7 exclude_current'],
];

let dir = '';
beforeAll(() => {
  dir = tempProject({ 'pipeline.yaml': PIPELINE }, 'dag-graph-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function graph(args: string[]): Promise<string> {
  const result = await runDag(['graph', ...args], { cwd: dir });
  expect(looksLikeStackTrace(result.stderr)).toBe(false);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

/** A deliberately small Mermaid reader: `flowchart LR`, node lines, labelled edges, class lines. */
function parseMermaid(text: string): {
  nodes: Map<string, { label: string; shape: 'cylinder' | 'box' }>;
  edges: [string, string, string][];
  classes: Map<string, string[]>;
} {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('flowchart LR');
  const ids = new Map<string, { label: string; shape: 'cylinder' | 'box' }>();
  const edges: [string, string, string][] = [];
  const classes = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^ {2}(n\d+)\[\("([^"]+)"\)\]$/.exec(line))) ids.set(m[1]!, { label: m[2]!, shape: 'cylinder' });
    else if ((m = /^ {2}(n\d+)\["([^"]+)"\]$/.exec(line))) ids.set(m[1]!, { label: m[2]!, shape: 'box' });
    else if ((m = /^ {2}(n\d+) -->\|"([^"]+)"\| (n\d+)$/.exec(line))) {
      expect(ids.has(m[1]!), `edge from an undeclared node: ${line}`).toBe(true);
      expect(ids.has(m[3]!), `edge to an undeclared node: ${line}`).toBe(true);
      edges.push([ids.get(m[1]!)!.label, ids.get(m[3]!)!.label, m[2]!]);
    } else if ((m = /^ {2}classDef (\w+) .+$/.exec(line))) classes.set(m[1]!, classes.get(m[1]!) ?? []);
    else if ((m = /^ {2}class ([\w,]+) (\w+)$/.exec(line)))
      classes.set(
        m[2]!,
        m[1]!.split(',').map((id) => ids.get(id)!.label),
      );
    else throw new Error(`not Mermaid this reader knows: '${line}'`);
  }
  return { nodes: new Map([...ids.values()].map((n) => [n.label, n])), edges, classes };
}

describe('dag graph', () => {
  it('prints Mermaid by default: sources as cylinders, every edge labelled with its mapping', async () => {
    const parsed = parseMermaid(await graph([]));
    expect([...parsed.nodes.keys()]).toEqual(['schedule', 'boxscores', 'TDZA', 'PSZA', 'PCF', 'SEASON', 'MLFS']);
    expect(parsed.nodes.get('boxscores')?.shape).toBe('cylinder');
    expect(parsed.nodes.get('PCF')?.shape).toBe('box');
    expect([...parsed.edges].sort()).toEqual([...EDGES].sort());
  });

  it('--select shows the selection with what it reads, unselected processors marked as context', async () => {
    const parsed = parseMermaid(await graph(['--select', 'MLFS']));
    expect([...parsed.nodes.keys()].sort()).toEqual(['MLFS', 'PCF', 'PSZA', 'SEASON']);
    expect(parsed.edges.every(([, to]) => to === 'MLFS')).toBe(true);
    expect(parsed.classes.get('context')?.sort()).toEqual(['PCF', 'PSZA', 'SEASON']);
    const upstream = parseMermaid(await graph(['--select', '+PCF']));
    expect([...upstream.nodes.keys()]).toEqual(['boxscores', 'TDZA', 'PSZA', 'PCF']);
    expect(upstream.classes.size).toBe(0);
  });

  it('prints dot that Graphviz compiles (skipped, with the reason, where graphviz is not installed)', async (context) => {
    const dot = await graph(['--format', 'dot']);
    for (const [from, to, label] of EDGES) expect(dot).toContain(`"${from}" -> "${to}" [label="${label}"];`);
    const which = spawnSync('which', ['dot'], { encoding: 'utf8' });
    if (which.status !== 0) {
      console.warn('SKIPPED dot -Tsvg: Graphviz is not installed (apt-get install graphviz; .ci/run does)');
      context.skip();
      return;
    }
    const svg = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
    expect(svg.stderr).toBe('');
    expect(svg.status).toBe(0);
    expect(svg.stdout).toContain('<svg');
    // Graphviz writes '-' as &#45; in SVG text.
    const text = svg.stdout.replace(/&#45;/g, '-');
    for (const [, , label] of EDGES) expect(text).toContain(`>${label}</text>`);
  });

  it('prints graphlib JSON that matches schema/graph.schema.json', async () => {
    const json = JSON.parse(await graph(['--format', 'json'])) as {
      nodes: { v: string; value: { kind: string } }[];
      edges: { v: string; w: string; value: { mapping: string; min?: number } }[];
      value: { pipeline: string };
    };
    const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'graph.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.value.pipeline).toBe('graphs');
    expect(json.edges.map((e) => [e.v, e.w, e.value.mapping]).sort()).toEqual([...EDGES].sort());
    expect(json.edges.find((e) => e.w === 'PSZA')?.value.min).toBe(10);
    // The schema is strict enough to fail: an edge without its mapping does not pass.
    const broken = structuredClone(json);
    delete (broken.edges[0]!.value as Partial<{ mapping: string }>).mapping;
    expect(validate(broken)).toBe(false);
  });

  it('refuses an unknown format and an unknown processor with exit 2', async () => {
    const format = await runDag(['graph', '--format', 'svg'], { cwd: dir });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("--format 'svg' is not a graph format");
    const unknown = await runDag(['graph', '--select', 'PFC'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("did you mean 'PCF'");
  });
});
