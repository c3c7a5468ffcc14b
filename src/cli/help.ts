/**
 * How every verb's `--help` and every parse error look. The convention, for a new verb:
 *
 *   - Register it with `program.command('VERB')` (the root is a DagCommand, so the verb is one too).
 *   - Placeholders are upper case in angle brackets, one word: `<A..B>`, `<SEL>`, `<T>`, `<FILE>`, `<N>`,
 *     `<DURATION>`, `<FORMAT>`; arguments likewise (`<PROCESSOR>`, `<DATE>`, `[RUN_ID]`).
 *   - Required options use `.requiredOption(...)`: the help says "(required)" and the usage line names them.
 *   - Defaults print as typed on the command line (`default: 4`, never `default: "4"`); an empty list
 *     (a repeatable option's start) and `false` are not printed.
 *   - Finish with `verbHelp(command, { examples, exitCodes })`: 2–3 runnable examples, and every exit code.
 *     test/help.test.ts checks all of this for every registered verb, and test/docs.test.ts parses the
 *     examples with the real parser.
 *
 * Parse errors are one line, `dag: <problem>; see dag VERB --help`, exit 2; an unknown option is
 * reported before a missing required one (it is usually the misspelt required one), with a suggestion.
 */
import { Command, Help, type Option } from 'commander';

export interface VerbHelp {
  /** Command lines a user can paste, each starting with `dag `: 2 or 3 of them. */
  readonly examples: readonly string[];
  /** Every exit code the verb can end with, and what it means. */
  readonly exitCodes: readonly (readonly [code: number, meaning: string])[];
}

/** The usage exit code every verb shares (docs/running.md, "Output and exit codes"). */
export const USAGE_EXIT: readonly [number, string] = [2, 'usage error, or the pipeline cannot be read'];

/** Adds the usage line with required options, the examples and the exit codes to a verb's help. */
export function verbHelp(command: Command, help: VerbHelp): Command {
  const required = command.options.filter((o) => o.mandatory).map((o) => o.flags);
  const args = command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  command.usage([...args, ...required, '[options]'].join(' '));
  const examples = help.examples.map((e) => `  ${e}`).join('\n');
  EXAMPLES.set(command, help.examples);
  const codes = help.exitCodes.map(([code, meaning]) => `  ${String(code).padEnd(3)} ${meaning}`).join('\n');
  return command.addHelpText('after', `\nExamples:\n${examples}\n\nExit codes:\n${codes}\n`);
}

/** The examples each verb's help shows, for the docs test to parse. */
const EXAMPLES = new WeakMap<Command, readonly string[]>();

/** The examples a verb's help shows (test/docs.test.ts parses them). */
export function examplesOf(command: Command): readonly string[] {
  return EXAMPLES.get(command) ?? [];
}

function defaultText(option: Option): string | undefined {
  if (option.defaultValueDescription !== undefined) return option.defaultValueDescription;
  const value: unknown = option.defaultValue;
  if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Help text for options: "(required)", choices and defaults as typed, no JSON quoting. */
class DagHelp extends Help {
  /** `dag --help` lists each verb with its usage line: `plan --range <A..B> [options]`. */
  override subcommandTerm(command: Command): string {
    return `${command.name()} ${command.usage()}`.trimEnd();
  }

  override optionDescription(option: Option): string {
    const extra: string[] = [];
    if (option.mandatory) extra.push('required');
    if (option.argChoices) extra.push(`one of: ${option.argChoices.join(', ')}`);
    const fallback = defaultText(option);
    if (fallback !== undefined) extra.push(`default: ${fallback}`);
    return extra.length === 0 ? option.description : `${option.description} (${extra.join('; ')})`;
  }
}

/** The command's name as typed: `dag plan`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** commander's Command with dag's help and one-line parse errors; `program.command()` makes more of it. */
export class DagCommand extends Command {
  override createCommand(name?: string): Command {
    return new DagCommand(name);
  }

  override createHelp(): Help {
    return Object.assign(new DagHelp(), this.configureHelp());
  }

  /** A leaf verb reports an unknown option first: `--rnage` must not read as "--range not specified". */
  override parseOptions(args: string[]): { operands: string[]; unknown: string[] } {
    const parsed = super.parseOptions(args);
    const first = parsed.unknown[0];
    const helpAsked = parsed.unknown.some((arg) => arg === '--help' || arg === '-h');
    if (this.commands.length === 0 && first?.startsWith('-') && first !== '-' && !helpAsked)
      (this as unknown as { unknownOption(flag: string): never }).unknownOption(first);
    return parsed;
  }

  /** One line: `dag: unknown option '--rnage' (did you mean --range?); see dag plan --help`. */
  override error(message: string, options?: { code?: string; exitCode?: number }): never {
    const text = message
      .replace(/^error: /, '')
      .replace(/\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)')
      .replace(/\n/g, ' ')
      .replace(/\.$/, '');
    const verbPath = commandPath(this);
    return super.error(`dag: ${text}; see ${verbPath} --help`, { code: options?.code ?? 'commander.error', exitCode: 2 });
  }
}
