/**
 * `dag validate [--pipeline FILE] [--format text|json|github]`: every problem in pipeline.yaml at
 * once. Exit 0 without errors (warnings allowed), 1 with any error, 2 when the file cannot be found
 * or read. Reads the warehouse only for ledger warnings on an existing DuckDB file (validate-ledger.ts).
 */
import { Option, type Command } from 'commander';
import { loadPipeline } from '../../config/load.js';
import { displayPath } from '../../config/report.js';
import { verbHelp } from '../help.js';
import { useColor, type CliIO } from '../io.js';
import { ledgerDiagnostics } from '../validate-ledger.js';
import { DIAGNOSTIC_FORMATS, renderGithub, renderJson, renderText, verdict, type DiagnosticFormat } from '../render-diagnostics.js';

interface ValidateOptions {
  readonly pipeline?: string;
  readonly format: DiagnosticFormat;
}

export function registerValidate(program: Command, io: CliIO): void {
  const command = program
    .command('validate')
    .description('check pipeline.yaml: every problem at once, with file:line:column and a hint')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .addOption(
      new Option('--format <FORMAT>', 'text for people, json for tools, github for annotations in GitHub Actions')
        .choices([...DIAGNOSTIC_FORMATS])
        .default('text'),
    );
  verbHelp(command, {
    examples: ['dag validate', 'dag validate --format github', 'dag validate --pipeline pipeline.yaml --format json'],
    exitCodes: [
      [0, 'valid (warnings allowed)'],
      [1, 'the file has errors (each printed with file:line:column)'],
      [2, 'usage error, or no pipeline file found or readable'],
    ],
  });
  command.action(async (options: ValidateOptions) => {
    io.doing = 'validating the pipeline';
    const outcome = await loadPipeline({ cwd: io.cwd, ...(options.pipeline !== undefined ? { file: options.pipeline } : {}) });
    io.exitCode = outcome.ok ? 0 : outcome.exitCode;
    const file = outcome.file === undefined ? (options.pipeline ?? 'pipeline.yaml') : displayPath(io.cwd, outcome.file);
    // A valid pipeline whose DuckDB file exists: also say when its ledger holds rows under former names.
    const diagnostics = outcome.ok ? [...outcome.diagnostics, ...(await ledgerDiagnostics(outcome.pipeline, file, io.env))] : outcome.diagnostics;
    switch (options.format) {
      case 'json':
        io.stdout(renderJson(diagnostics));
        return;
      case 'github':
        io.stdout(renderGithub(diagnostics));
        if (outcome.ok || outcome.exitCode === 1) io.stdout(`${verdict(file, diagnostics)}\n`);
        return;
      case 'text': {
        if (!outcome.ok && outcome.exitCode === 2) {
          // Nothing to validate: one line on stderr, like every other unreadable-pipeline error.
          for (const d of diagnostics) io.stderr(`dag: ${d.message}\n${d.hint ? `  hint: ${d.hint}\n` : ''}`);
          return;
        }
        io.stdout(renderText(diagnostics, useColor(io)));
        io.stdout(`${verdict(file, diagnostics)}\n`);
        return;
      }
    }
  });
}
