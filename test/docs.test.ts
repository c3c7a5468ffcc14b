/**
 * The docs say what dag does. Every `dag ...` command README.md and docs/*.md show parses with the real
 * CLI's parser (the program src/cli/main.ts builds, actions stubbed out): commands meant to be typed
 * parse as written, synopses and mentions name only real verbs and options; so do the examples in each
 * verb's --help. The README's tour of pipeline.yaml is an excerpt of the shipped pipeline.yaml. And the
 * samples that follow a `$ dag ...` prompt in README.md and docs/example-nba.md are goldens: the
 * command is run on a fresh copy of the example and its output must match (times, run ids and paths
 * normalized; `...` in a sample stands for any lines; the order of a run's batch lines is free).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { examplesOf } from '../src/cli/help.js';
import type { CliIO } from '../src/cli/io.js';
import { buildProgram } from '../src/cli/main.js';
import { parseRange } from '../src/cli/range.js';
import { fencedBlocks, shellWords, shownCommands, type ShownCommand } from './support/markdown-commands.js';
import { projectRoot, runDag, tempProject } from './support/cli.js';

const DOCS = [
  'README.md',
  ...readdirSync(join(projectRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');

function quietIO(): CliIO {
  return { cwd: projectRoot, env: {}, stdout: () => {}, stderr: () => {}, isTTY: false, argv: [], exitCode: 0, doing: 'parsing' };
}

/** The program with every verb, its actions replaced by no-ops: parsing only. */
async function parsingProgram(args: readonly string[]): Promise<Command> {
  const program = await buildProgram(quietIO(), args);
  for (const command of program.commands) command.action(() => {});
  return program;
}

const HELP_OR_VERSION = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Undefined when `args` parse as the real CLI would parse them; else commander's message. */
async function parseProblem(args: readonly string[]): Promise<string | undefined> {
  try {
    await (await parsingProgram(args)).parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return HELP_OR_VERSION.has(error.code) ? undefined : error.message;
    throw error;
  }
  const at = args.indexOf('--range');
  if (at >= 0) {
    try {
      parseRange(args[at + 1] ?? '', () => 19_000);
    } catch (error) {
      return (error as Error).message;
    }
  }
  return undefined;
}

const where = (c: ShownCommand) => `${c.file}:${c.line}: ${c.text}`;

describe('commands shown in the docs', () => {
  const shown = DOCS.flatMap((file) => shownCommands(file, read(file)));

  it('finds the commands (the extraction itself works)', () => {
    expect(shown.filter((c) => c.runnable).length).toBeGreaterThan(10);
    expect(shown).toContainEqual(expect.objectContaining({ file: 'docs/running.md', args: ['validate', '--format', 'github'], runnable: true }));
  });

  it('commands to type parse as written with the real parser', async () => {
    const problems: string[] = [];
    for (const c of shown.filter((s) => s.runnable)) {
      const problem = await parseProblem(c.args);
      // A sample that shows a usage error must show the one dag gives.
      if (c.fails !== undefined ? problem !== c.fails : problem !== undefined)
        problems.push(`${where(c)} → ${problem ?? 'parses, but the page shows an error'}`);
    }
    expect(problems).toEqual([]);
  });

  it('synopses and mentions name only real verbs and options of those verbs', async () => {
    const program = await parsingProgram([]);
    const verbs = new Map(program.commands.map((c) => [c.name(), c]));
    const problems: string[] = [];
    for (const c of shown.filter((s) => !s.runnable)) {
      const [first = ''] = c.args;
      if (/^[A-Z]+$/.test(first)) continue; // `dag VERB --help`: a placeholder for any verb
      const named = first === '' || first.startsWith('-') || first.startsWith('...') ? [program] : first.split('|').map((v) => verbs.get(v));
      if (named.some((v) => v === undefined)) {
        problems.push(`${where(c)} → no verb '${first}'`);
        continue;
      }
      const known = new Set([...named.flatMap((v) => v!.options.map((o) => o.long)), '--help', '--pipeline']);
      for (const word of c.args) {
        const option = /^\[?(--[a-z][a-z-]*)/.exec(word)?.[1];
        if (option !== undefined && !known.has(option)) problems.push(`${where(c)} → '${option}' is not an option of dag ${first}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the checks can fail: a misspelt option, an unknown verb and a bad date are problems', async () => {
    expect(await parseProblem(['plan', '--rnage', '2021-11-01'])).toMatch(/unknown option '--rnage'/);
    expect(await parseProblem(['pln', '--range', '2021-11-01'])).toMatch(/unknown command 'pln'/);
    expect(await parseProblem(['run', '--range', '2021-11-31'])).toMatch(/not a date/);
    expect(await parseProblem(['run', '--range', '2021-11-01', '--mode', 'daily'])).toBeUndefined();
  });

  it("every verb's --help examples parse with the real parser", async () => {
    const program = await parsingProgram([]);
    const problems: string[] = [];
    for (const command of [program, ...program.commands.filter((c) => c.name() !== 'help')]) {
      const examples = examplesOf(command);
      if (examples.length === 0) problems.push(`dag ${command.name()}: no examples`);
      for (const example of examples) {
        const problem = await parseProblem(shellWords(example).slice(1));
        if (problem !== undefined) problems.push(`${example} → ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

/** Every leaf of `part` is in `whole` at the same path with the same value; lists must be equal. */
function leavesNotIn(part: unknown, whole: unknown, path = ''): string[] {
  if (part !== null && typeof part === 'object' && !Array.isArray(part)) {
    if (whole === null || typeof whole !== 'object' || Array.isArray(whole)) return [`${path || '/'}: not a mapping in pipeline.yaml`];
    return Object.entries(part).flatMap(([key, value]) => leavesNotIn(value, (whole as Record<string, unknown>)[key], `${path}/${key}`));
  }
  return JSON.stringify(part) === JSON.stringify(whole) ? [] : [`${path}: the README says ${JSON.stringify(part)}, pipeline.yaml ${JSON.stringify(whole)}`];
}

describe("the README's tour of pipeline.yaml", () => {
  it('is an excerpt of the shipped pipeline.yaml: every key and value it shows is there', () => {
    const tour = fencedBlocks(read('README.md')).find((b) => b.lang === 'yaml' && b.lines.some((l) => l.startsWith('processors:')));
    expect(tour, 'a yaml block with processors: in README.md').toBeDefined();
    expect(leavesNotIn(parseYaml(tour!.lines.join('\n')), parseYaml(read('pipeline.yaml')))).toEqual([]);
  });
});

/** What varies between runs: elapsed times, run ids; trailing blanks. */
function normalize(text: string): string {
  return text
    .replace(/\b\d{8}T\d{6}Z-[0-9a-f]{4}\b/g, '<run id>')
    .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, '<time>')
    .replace(/\b\d+(?:\.\d+)?s\b/g, '<t>s')
    .replace(/\b\d+ ms\b/g, '<t> ms')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/** A run's batch lines come in the order batches finish: sorted, wherever they stand together. */
function sortBatchLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const line of lines) {
    if (/^(built|failed|skipped|split|retry) /.test(line)) run.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

/** `sample` (with `...` lines standing for any lines) against real output. */
function sampleMismatch(sample: readonly string[], actual: string): string | undefined {
  const got = sortBatchLines(normalize(actual).split('\n'));
  const chunks: string[][] = [[]];
  for (const line of sortBatchLines(normalize(sample.join('\n')).split('\n'))) {
    if (line.trim() === '...') chunks.push([]);
    else chunks[chunks.length - 1]!.push(line);
  }
  let at = 0;
  for (const [i, chunk] of chunks.entries()) {
    if (chunk.length === 0) continue;
    const found = got.findIndex((_, k) => k >= at && chunk.every((line, j) => got[k + j] === line));
    const anchored = (i === 0 && found !== 0) || (i === chunks.length - 1 && found !== got.length - chunk.length);
    if (found < 0 || anchored) return `expected\n${chunk.join('\n')}\n\nin the output\n${got.join('\n')}`;
    at = found + chunk.length;
  }
  return undefined;
}

/** A fresh copy of the example project (pipeline.yaml, pipelines/nba), data not yet generated. */
function exampleCopy(): string {
  const dir = tempProject({ 'pipeline.yaml': read('pipeline.yaml') }, 'dag-docs-');
  cpSync(join(projectRoot, 'pipelines'), join(dir, 'pipelines'), { recursive: true });
  // The generator imports @duckdb/node-api, as it does in a checkout.
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Runs a sample's `$` line (`node ... && npx dag ...`) in `dir`; stdout of every part, in order. */
async function runPrompt(dir: string, line: string): Promise<string> {
  let out = '';
  for (const part of line.split('&&').map((p) => shellWords(p.trim()))) {
    const words = part[0] === 'npx' ? part.slice(1) : part;
    if (words[0] === 'dag') {
      const result = await runDag(words.slice(1), { cwd: dir, timeoutMs: 120_000 });
      expect(result.stderr).not.toMatch(/internal error|this is a bug/);
      out += result.stdout;
    } else if (words[0] === 'node') {
      const result = spawnSync(process.execPath, words.slice(1), { cwd: dir, encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      out += result.stdout;
    } else throw new Error(`the docs test runs dag and node only, not: ${part.join(' ')}`);
  }
  return out;
}

describe('samples are real output (goldens)', () => {
  // Each page's samples run in order on a fresh example; `before` is what the page assumes was done.
  const pages = [
    { file: 'README.md', before: [], samples: 3 },
    { file: 'docs/example-nba.md', before: [], samples: 3 },
    { file: 'docs/partition-states.md', before: ['run', '--range', '2021-10-19..2021-12-15'], samples: 1 },
  ];
  for (const { file, before, samples: atLeast } of pages) {
    it(`${file}: each "$ dag ..." sample matches what the command prints on the example`, async () => {
      const samples = fencedBlocks(read(file)).filter((b) => /^\$ .*\bdag /.test(b.lines[0] ?? ''));
      expect(samples.length).toBeGreaterThanOrEqual(atLeast);
      const dir = exampleCopy();
      spawnSync(process.execPath, ['pipelines/nba/generate.mjs'], { cwd: dir });
      if (before.length > 0) expect((await runDag(before, { cwd: dir, timeoutMs: 120_000 })).code).toBe(0);
      const problems: string[] = [];
      for (const sample of samples) {
        const output = await runPrompt(dir, sample.lines[0]!.slice(2));
        const mismatch = sampleMismatch(sample.lines.slice(1), output);
        if (mismatch) problems.push(`${file}:${sample.line}: ${sample.lines[0]}\n${mismatch}`);
      }
      expect(problems.join('\n\n')).toBe('');
    }, 300_000);
  }
});
