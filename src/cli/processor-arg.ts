/** A PROCESSOR argument (explain, render): a processor of the pipeline, or a usage error that says what is. */
import { UserError } from '../core/diagnostics.js';
import { closestName } from '../core/did-you-mean.js';
import type { Pipeline, Processor } from '../core/model.js';

export function processorNamed(pipeline: Pipeline, name: string, verb: string): Processor {
  const node = pipeline.nodes.get(name);
  if (node?.kind === 'processor') return node;
  const names = pipeline.processors.map((p) => p.name);
  if (node?.kind === 'source') throw new UserError(`'${name}' is a source, not a processor: dag does not build it`, 2, `${verb} one of: ${names.join(', ')}`);
  const guess = closestName(name, names);
  throw new UserError(`unknown processor '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}`, 2, `processors: ${names.join(', ')}`);
}
