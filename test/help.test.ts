/**
 * What `dag VERB --help` promises every verb (src/cli/help.ts): 2–3 examples that start with the verb,
 * every exit code, required options marked, defaults printed as typed, one placeholder style; and one-
 * line parse errors that point at the verb's help. Through the real bin; the verbs are read from
 * `dag --help`, so a verb added later is held to the same rules.
 */
import { describe, expect, it } from 'vitest';
import { runDag, tempProject } from './support/cli.js';

const dir = tempProject({}, 'dag-help-');
const dag = (...args: string[]) => runDag(args, { cwd: dir });

/** The lines of a help section ("Examples:", "Exit codes:"), without their indent. */
function section(help: string, title: string): string[] {
  const found = new RegExp(`\\n${title}:\\n((?: {2}.*\\n?)+)`).exec(help);
  return found?.[1]
    ? found[1]
        .trimEnd()
        .split('\n')
        .map((line) => line.trim())
    : [];
}

describe('dag --help', () => {
  it('lists every verb with its usage, and shows examples and exit codes of its own', async () => {
    const help = await dag('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}plan --range <A\.\.B> \[options\]/m);
    expect(section(help.stdout, 'Examples').length).toBeGreaterThanOrEqual(2);
    expect(section(help.stdout, 'Exit codes').map((line) => line.split(/\s+/)[0])).toEqual(['0', '1', '2', '130']);
  });

  it('every verb: 2–3 examples of itself, its exit codes, required options marked, defaults as typed, upper-case placeholders', async () => {
    const verbs = section((await dag('--help')).stdout, 'Commands')
      .map((line) => line.split(' ')[0]!)
      .filter((verb) => verb !== 'help');
    expect(verbs).toEqual(expect.arrayContaining(['validate', 'plan', 'run', 'explain', 'render', 'graph', 'report']));
    for (const verb of verbs) {
      const { code, stdout } = await dag(verb, '--help');
      expect(code, verb).toBe(0);
      const examples = section(stdout, 'Examples');
      expect(examples.length, `${verb}: examples`).toBeGreaterThanOrEqual(2);
      expect(examples.length, `${verb}: examples`).toBeLessThanOrEqual(3);
      for (const example of examples) expect(example, verb).toMatch(new RegExp(`^dag ${verb}\\b`));
      const codes = section(stdout, 'Exit codes').map((line) => line.split(/\s+/)[0]);
      expect(codes, `${verb}: exit codes`).toContain('0');
      expect(codes, `${verb}: exit codes`).toContain('2');
      expect(stdout, verb).not.toMatch(/default: "|\(default: \[\]\)|choices: "/);
      // One placeholder style: <UPPER>, in the options and the usage line alike.
      for (const placeholder of stdout.match(/<[^>\s]+>/g) ?? []) expect(placeholder, verb).toMatch(/^<[A-Z_.]+>$/);
      const usage = /^Usage: (.*)$/m.exec(stdout)?.[1] ?? '';
      for (const required of stdout.matchAll(/^ {2}(--[a-z-]+) <[A-Z_.]+>[^\n]*(?:\n {10,}[^\n]*)*\(required\)/gm)) expect(usage, verb).toContain(required[1]);
    }
    const run = (await dag('run', '--help')).stdout;
    expect(run).toMatch(/--concurrency <N>[\s\S]*?\(default: 4\)/);
    expect(run).toMatch(/--range <A\.\.B>[\s\S]*?\(required\)/);
    expect(run).toMatch(/^Usage: dag run --range <A\.\.B> \[options\]$/m);
    expect(section(run, 'Exit codes').map((line) => line.split(/\s+/)[0])).toEqual(['0', '1', '2', '130', '137']);
  });

  it('no help text cites a file outside the repository', async () => {
    for (const verb of ['plan', 'run', 'explain']) expect((await dag(verb, '--help')).stdout).not.toMatch(/DESIGN|shared\//);
  });
});

describe('parse errors', () => {
  it("an unknown option is named before a missing required one, with a suggestion and the verb's help", async () => {
    const typo = await dag('plan', '--rnage', '2021-11-01');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("dag: unknown option '--rnage' (did you mean --range?); see dag plan --help\n");
    expect(typo.stdout).toBe('');
    const explain = await dag('explain', 'PCF', '2021-11-03', '--jsno');
    expect(explain.stderr).toBe("dag: unknown option '--jsno' (did you mean --json?); see dag explain --help\n");
  });

  it('a missing required option, a missing argument and an unknown verb: one line each, exit 2', async () => {
    expect(await dag('run')).toMatchObject({ code: 2, stderr: "dag: required option '--range <A..B>' not specified; see dag run --help\n" });
    expect(await dag('explain', 'PCF')).toMatchObject({ code: 2, stderr: "dag: missing required argument 'DATE'; see dag explain --help\n" });
    expect(await dag('pln')).toMatchObject({ code: 2, stderr: "dag: unknown command 'pln' (did you mean plan?); see dag --help\n" });
    // --help still wins over an unknown option.
    expect((await dag('plan', '--rnage', 'x', '--help')).code).toBe(0);
  });
});
