/**
 * The selection syntax of `--select` (DESIGN §6): a comma list of processor names, `+NAME` (with
 * its upstream processors), `NAME+` (with its downstream processors), `+NAME+` (both). Pure.
 */
import { UserError } from './diagnostics.js';
import { closestName } from './did-you-mean.js';
import { indexGraphOf, reachable, reverseEdges } from './graph.js';
import type { Pipeline } from './model.js';

function unknownName(pipeline: Pipeline, name: string, term: string): UserError {
  const known = pipeline.processors.map((p) => p.name);
  if (pipeline.nodes.get(name)?.kind === 'source') {
    return new UserError(
      `--select: '${name}' is a source, not a processor (in '${term}')`,
      2,
      `select the processors that read it instead; processors: ${known.join(', ')}`,
    );
  }
  const guess = closestName(name, known);
  return new UserError(
    `--select: unknown processor '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}`,
    2,
    known.length > 0 ? `known processors: ${known.join(', ')}` : 'the pipeline has no processors',
  );
}

/**
 * Processor names selected by `selection`, in topological order. Undefined or blank selects every
 * processor. Several selections (repeated `--select` options) add up, as one comma list. An unknown
 * name is a usage error (exit 2) that lists the known names.
 */
export function selectProcessors(pipeline: Pipeline, selections: string | readonly string[] | undefined): readonly string[] {
  const selection = typeof selections === 'string' ? selections : selections?.join(',');
  if (selection === undefined || selection.trim() === '') return pipeline.processors.map((p) => p.name);
  const { graph, indexOf } = indexGraphOf(pipeline.processors, (p) => p.upstream.map((u) => u.name));
  let downstream: number[][] | undefined;
  const chosen = new Set<number>();
  for (const rawTerm of selection.split(',')) {
    const term = rawTerm.trim();
    if (term === '') continue;
    const withUpstream = term.startsWith('+');
    const withDownstream = term.length > 1 && term.endsWith('+');
    const name = term.slice(withUpstream ? 1 : 0, withDownstream ? -1 : undefined).trim();
    if (name === '' || name.includes('+')) {
      throw new UserError(`--select: cannot read '${term}'`, 2, 'use NAME, +NAME (with upstream), NAME+ (with downstream), comma-separated');
    }
    const index = indexOf.get(name);
    if (index === undefined) throw unknownName(pipeline, name, term);
    chosen.add(index);
    if (withUpstream) for (const i of reachable(graph.reads, [index])) chosen.add(i);
    if (withDownstream) {
      downstream ??= reverseEdges(graph);
      for (const i of reachable(downstream, [index])) chosen.add(i);
    }
  }
  if (chosen.size === 0) return pipeline.processors.map((p) => p.name);
  return [...chosen].sort((a, b) => a - b).map((i) => pipeline.processors[i]!.name);
}

/**
 * Every node (processor or source) the given processors read, transitively, plus the processors
 * themselves and the calendar node: exactly the tables a snapshot must look at to plan them.
 * Order: sources in declaration order, then processors in topological order.
 */
export function readClosure(pipeline: Pipeline, processors: readonly string[]): readonly string[] {
  const needed = new Set<string>();
  const stack = [...processors];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    const node = pipeline.nodes.get(name);
    if (node?.kind === 'processor') for (const u of node.upstream) if (!needed.has(u.name)) stack.push(u.name);
  }
  // The calendar's own inventory is read (its dates are the expected partitions), not its inputs.
  if (pipeline.calendar !== undefined) needed.add(pipeline.calendar);
  return [
    ...pipeline.sources.filter((s) => needed.has(s.name)).map((s) => s.name),
    ...pipeline.processors.filter((p) => needed.has(p.name)).map((p) => p.name),
  ];
}
