/**
 * Logic both adapters need in the same form, kept here so the DuckDB and BigQuery adapters cannot
 * drift apart on it. No SQL of its own: where SQL is written, the adapter passes its dialect in.
 */
import { formatDay, type Day } from '../core/dates.js';
import { tableName, type Pipeline, type PipelineNode, type Processor, type TableRef } from '../core/model.js';
import type { OrphanedLedger, Snapshot, TableInventory } from '../core/snapshot.js';
import { parseTemplate, renderTemplate, withoutStatementEnd } from '../core/template.js';
import type { BatchJob } from './port.js';

/** The nodes a snapshot reads: the requested ones plus the calendar node, each once, in pipeline order. */
export function nodesToRead(pipeline: Pipeline, names: readonly string[]): PipelineNode[] {
  const wanted = new Set(names);
  if (pipeline.calendar !== undefined) wanted.add(pipeline.calendar);
  return [...pipeline.sources, ...pipeline.processors].filter((node) => wanted.has(node.name));
}

/** The calendar node's present days in ascending order; undefined when the pipeline has no calendar. */
export function calendarDays(pipeline: Pipeline, tables: ReadonlyMap<string, TableInventory>): Day[] | undefined {
  const inventory = pipeline.calendar === undefined ? undefined : tables.get(pipeline.calendar);
  return inventory ? [...inventory.partitions.keys()].sort((a, b) => a - b) : undefined;
}

/**
 * Every source among `nodes` with the names of the processors among `nodes` that read it (none: an
 * empty list), in `nodes` order. The scope is the caller's: a snapshot's nodes, or the whole pipeline.
 */
export function readersBySource(nodes: Iterable<PipelineNode>): Map<string, string[]> {
  const scope = [...nodes];
  const readers = new Map<string, string[]>();
  for (const node of scope) if (node.kind === 'source') readers.set(node.name, []);
  for (const node of scope) if (node.kind === 'processor') for (const upstream of node.upstream) readers.get(upstream.name)?.push(node.name);
  return readers;
}

/** How an adapter writes a SELECT template's values in its dialect. */
export interface SelectDialect {
  readonly dateLiteral: (day: Day) => string;
  readonly table: (table: TableRef) => string;
  /** Throws the adapter's error for ref('name') naming no node (validate rejects those before any run). */
  readonly unknownRef: (name: string) => never;
  /** What {{ this }} renders to; default the processor's table (a check's SQL: the batch's new rows). */
  readonly self?: string;
}

/** A SQL processor's SELECT (`text`) for a batch, templates rendered, without trailing semicolons or comments. */
export function renderBatchTemplate(job: BatchJob, text: string, dialect: SelectDialect): string {
  const rendered = renderTemplate(parseTemplate(text), {
    startDate: dialect.dateLiteral(job.batch.start),
    endDate: dialect.dateLiteral(job.batch.end),
    self: dialect.self ?? dialect.table(job.processor.table),
    ref: (name) => {
      const node = job.pipeline.nodes.get(name);
      return node ? dialect.table(node.table) : dialect.unknownRef(name);
    },
  });
  return withoutStatementEnd(rendered);
}

/** `processor start..end`: how failure messages name a batch. */
export function batchLabel(job: BatchJob): string {
  return `${job.processor.name} ${formatDay(job.batch.start)}..${formatDay(job.batch.end)}`;
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

/**
 * The key a processor's ledger rows are matched by: its table (`schema.table`, as in pipeline.yaml)
 * since ledger version 2, so a renamed processor keeps its table's history; its name in a version-1
 * ledger, which records no table.
 */
export function ledgerKeyOf(node: PipelineNode, byTable: boolean): string {
  return byTable ? tableName(node.table) : node.name;
}

/** The key a group of ledger rows is owned by: its table (ledger version 2) or its processor name (version 1), as ledgerKeyOf. */
export function ledgerKeyOfGroup(group: LedgerNames, byTable: boolean): string {
  return byTable ? (group.table ?? '') : group.processor;
}

/** One group of ledger rows: the name and table they were recorded under, and how many dates. */
export interface LedgerNames {
  readonly processor: string;
  /** undefined: the row has no table (version 1, or migrated from it for an unknown processor). */
  readonly table: string | undefined;
  readonly partitions: number;
}

/**
 * Which ledger rows the pipeline's processors own under another name (formerNames: a rename), and
 * which no processor owns (orphanedLedger), from the ledger's (processor, table) groups. Covers the
 * whole pipeline, not one selection: a rename is news whatever a plan selects. `byTable` false (a
 * version-1 ledger) can only tell names the pipeline no longer has.
 */
export function ledgerIdentity(pipeline: Pipeline, groups: readonly LedgerNames[], byTable: boolean): Pick<Snapshot, 'formerNames' | 'orphanedLedger'> {
  const owner = new Map(pipeline.processors.map((p) => [ledgerKeyOf(p, byTable), p.name]));
  const formerNames = new Map<string, string[]>();
  const orphanedLedger: OrphanedLedger[] = [];
  for (const group of groups) {
    const current = owner.get(ledgerKeyOfGroup(group, byTable));
    if (current === undefined) orphanedLedger.push(group);
    else if (current !== group.processor) {
      const names = formerNames.get(current) ?? [];
      if (!names.includes(group.processor)) names.push(group.processor);
      formerNames.set(current, names.sort());
    }
  }
  orphanedLedger.sort((a, b) => (a.table ?? '').localeCompare(b.table ?? '') || a.processor.localeCompare(b.processor));
  return { formerNames, orphanedLedger };
}
