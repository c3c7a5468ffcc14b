/**
 * Logic both adapters need in the same form, kept here so the DuckDB and BigQuery adapters cannot
 * drift apart on it. No SQL: each adapter still owns its dialect.
 */
import type { Day } from '../core/dates.js';
import type { Pipeline, PipelineNode, Processor } from '../core/model.js';

/** The nodes a snapshot reads: the requested ones plus the calendar node, each once, in pipeline order. */
export function nodesToRead(pipeline: Pipeline, names: readonly string[]): PipelineNode[] {
  const wanted = new Set(names);
  if (pipeline.calendar !== undefined) wanted.add(pipeline.calendar);
  return [...pipeline.sources, ...pipeline.processors].filter((node) => wanted.has(node.name));
}

/**
 * What a command batch records after its command exited 0, from the rows it found per partition:
 * partitions with rows (every one with allow_empty) go to the ledger; the others are absent.
 */
export function commandBatchRows(processor: Processor, days: readonly Day[], found: ReadonlyMap<Day, number>): { rows: Map<Day, number>; absent: Day[] } {
  const rows = new Map<Day, number>();
  const absent: Day[] = [];
  for (const day of days) {
    const count = found.get(day) ?? 0;
    if (count > 0 || processor.allowEmpty) rows.set(day, count);
    else absent.push(day);
  }
  return { rows, absent };
}

/** An error's first line: drivers append query carets, stack-like context and hints below it. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
