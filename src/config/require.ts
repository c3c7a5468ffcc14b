/**
 * For the verbs that need a valid pipeline (plan, run, explain): load it or fail with one line that
 * names the first problem and sends the user to `dag validate` for the rest.
 */
import { UserError, type Diagnostic } from '../core/diagnostics.js';
import type { Pipeline } from '../core/model.js';
import { loadPipeline, type LoadOptions } from './load.js';

export function formatPosition(d: Diagnostic): string {
  return d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
}

export async function requirePipeline(options: LoadOptions): Promise<{ pipeline: Pipeline; warnings: readonly Diagnostic[] }> {
  const outcome = await loadPipeline(options);
  if (outcome.ok) return { pipeline: outcome.pipeline, warnings: outcome.diagnostics.filter((d) => d.severity === 'warning') };
  const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0];
  if (outcome.exitCode === 2 && first) throw new UserError(`${formatPosition(first)}: ${first.message}`, 2, first.hint);
  const count = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
  const where = first ? `${formatPosition(first)} ${first.message}` : 'unknown problem';
  throw new UserError(`pipeline.yaml is invalid: ${count}; first: ${where}`, 2, 'run `dag validate` to see them all');
}
