/**
 * Diagnostics for people (text), for machines (json) and for GitHub Actions annotations (github).
 * Pure string building; the command decides where the text goes.
 */
import { Chalk } from 'chalk';
import { formatPosition } from '../config/require.js';
import type { Diagnostic } from '../core/diagnostics.js';

export type DiagnosticFormat = 'text' | 'json' | 'github';
export const DIAGNOSTIC_FORMATS: readonly DiagnosticFormat[] = ['text', 'json', 'github'];

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "pipeline.yaml is valid (2 warnings)" / "pipeline.yaml is invalid: 3 errors, 1 warning". */
export function verdict(file: string, diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  if (errors === 0) return `${file} is valid${warnings > 0 ? ` (${plural(warnings, 'warning')})` : ''}`;
  return `${file} is invalid: ${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`;
}

/** `file:line:col error code message` then `  hint: ...`, one block per diagnostic. */
export function renderText(diagnostics: readonly Diagnostic[], color: boolean): string {
  const chalk = new Chalk({ level: color ? 1 : 0 });
  return diagnostics
    .map((d) => {
      const severity = d.severity === 'error' ? chalk.red('error') : chalk.yellow('warning');
      const head = `${chalk.bold(formatPosition(d))} ${severity} ${chalk.dim(d.code)} ${d.message}\n`;
      return d.hint ? `${head}  ${chalk.dim('hint:')} ${d.hint}\n` : head;
    })
    .join('');
}

export function renderJson(diagnostics: readonly Diagnostic[]): string {
  const plain = diagnostics.map((d) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file,
    line: d.line,
    column: d.column,
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  }));
  return `${JSON.stringify(plain, null, 2)}\n`;
}

// GitHub workflow commands: data escapes %, CR, LF; property values also escape : and ,.
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error file=…,line=…,col=…,title=code::message` lines (line/col omitted when unknown). */
export function renderGithub(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .map((d) => {
      const properties = [`file=${escapeProperty(d.file)}`];
      if (d.line > 0) properties.push(`line=${d.line}`, `col=${d.column}`);
      properties.push(`title=${escapeProperty(`dag ${d.code}`)}`);
      const message = d.hint ? `${d.message}\nhint: ${d.hint}` : d.message;
      return `::${d.severity} ${properties.join(',')}::${escapeData(message)}\n`;
    })
    .join('');
}
