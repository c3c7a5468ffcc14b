/**
 * From a shape-checked document to the model: the meaning checks (names, tables, calendar, graph)
 * and the resolved, immutable Pipeline. Every problem is reported; the Pipeline is returned only
 * when there is no error. File reads are injected so the checks stay testable.
 */
import { basename, dirname } from 'node:path';
import { isTimeZone } from '../core/dates.js';
import { didYouMean } from '../core/did-you-mean.js';
import { findCycles, indexGraphOf, topologicalOrder } from '../core/graph.js';
import { DEFAULTS, type Pipeline, type PipelineNode, type Processor, type Source } from '../core/model.js';
import type { GlobFiles } from './code-files.js';
import { CODES } from './codes.js';
import { isRecord, valueAt, type ConfigDocument } from './document.js';
import { projectFolder } from './project-files.js';
import { checkBigqueryBatchSize, checkBigqueryLabels } from './bigquery-rails.js';
import { checkLedgerSchema, checkWebhooks } from './rails.js';
import { Reporter } from './report.js';
import { declaredUpstream, notifyOf, resolveProcessor, tableRef } from './resolve-processor.js';
import { resolveTargets, type ResolvedTargets } from './resolve-targets.js';
import { durationProblem, parseRetention } from './values.js';

export interface ResolveOptions {
  readonly cwd: string;
  /** Returns the file's text, or undefined when it cannot be read. */
  readonly readText: (file: string) => string | undefined;
  /** Files a `code:` glob matches, relative to `cwd` (see code-files.ts). */
  readonly globFiles: GlobFiles;
}

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

/** Two nodes naming one table: a processor would overwrite another's (or a source's) data. */
function checkTables(top: Record<string, unknown>, report: Reporter): void {
  const seen = new Map<string, { section: string; name: string }>();
  for (const section of ['sources', 'processors'] as const) {
    for (const [name, raw] of entries(top[section])) {
      if (!isRecord(raw) || typeof raw.table !== 'string') continue;
      const key = raw.table.toLowerCase();
      const first = seen.get(key);
      if (!first) {
        seen.set(key, { section, name });
      } else if (section === 'processors') {
        report.error(
          CODES.duplicateTable,
          [section, name, 'table'],
          'value',
          `processor ${name} writes ${raw.table}, which ${first.section === 'sources' ? 'source' : 'processor'} ${first.name} already names`,
          `give each processor its own table; the other is at ${report.where([first.section, first.name, 'table'], 'value')}`,
        );
      }
    }
  }
}

/**
 * "Did you mean" over every name costs a comparison per name; a file with thousands of processors
 * and thousands of unknown upstream names would spend minutes on them. Past a budget, no suggestion.
 */
const SUGGESTION_BUDGET = 2_000_000;

function nameSuggester(names: ReadonlySet<string>): (word: string, exclude: string) => string {
  let comparisonsLeft = SUGGESTION_BUDGET;
  return (word, exclude) => {
    if (comparisonsLeft <= 0) return '';
    comparisonsLeft -= names.size;
    return didYouMean(
      word,
      [...names].filter((known) => known !== exclude),
    );
  };
}

/** Durations of the right form but no use: 0s, or beyond what a timer can wait. */
function checkDurations(top: Record<string, unknown>, report: Reporter): void {
  const places: (readonly [string, ...string[]])[] = [['defaults', 'timeout']];
  for (const [name] of entries(top.processors)) places.push(['processors', name, 'timeout']);
  for (const [name] of entries(top.targets)) places.push(['targets', name, 'job_timeout']);
  for (const path of places) {
    const value = valueAt(top, path);
    const problem = durationProblem(value);
    if (problem !== undefined)
      report.error(
        CODES.invalidDuration,
        path,
        'value',
        `${path.join('.')} ${String(value)} ${problem}`,
        'write a duration from 1s up to a few hours, e.g. 30s, 10m or 2h',
      );
  }
}

/** `timezone:` (IANA name, as Intl knows it); UTC when absent. The shape check already saw a non-empty string. */
function resolveTimeZone(top: Record<string, unknown>, report: Reporter): string {
  const zone = top.timezone;
  if (typeof zone !== 'string') return 'UTC';
  if (!isTimeZone(zone))
    report.error(
      CODES.unknownTimeZone,
      ['timezone'],
      'value',
      `timezone '${zone}' is not a time zone this Node.js knows`,
      'write an IANA name such as UTC, America/New_York or Europe/Paris (see `Intl.supportedValuesOf("timeZone")`)',
    );
  return zone;
}

/** Reads as declared (even by processors with other errors), so a cycle is always reported. */
function declaredReads(top: Record<string, unknown>): { name: string; reads: string[] }[] {
  return entries(top.processors).map(([name, raw]) => ({
    name,
    reads: isRecord(raw) ? declaredUpstream(raw.upstream, []).map((u) => u.name) : [],
  }));
}

function checkCycles(processors: readonly { name: string; reads: string[] }[], report: Reporter): void {
  for (const cycle of findCycles(indexGraphOf(processors, (p) => p.reads).graph)) {
    const names = cycle.map((i) => processors[i]!.name);
    // `reads` edges run downstream -> upstream; people read data flow, upstream -> downstream.
    const flow = [...names].reverse();
    const edges = names
      .slice(0, -1)
      .map(
        (reader, k) =>
          `${report.where(['processors', reader, 'upstream', upstreamKey(report, reader, names[k + 1]!)], 'key')} (${reader} reads ${names[k + 1]})`,
      );
    report.error(
      CODES.cycle,
      ['processors', names[0]!, 'upstream', upstreamKey(report, names[0]!, names[1]!)],
      'key',
      `cycle: ${flow.join(' -> ')}`,
      `no processor can be built first; remove one of these upstream edges: ${edges.join(', ')}`,
    );
  }
}

/** The path segment of `reader`'s upstream entry for `name`: a list index or a map key. */
function upstreamKey(report: Reporter, reader: string, name: string): string | number {
  const processors = (report.doc.value as Record<string, unknown>).processors as Record<string, Record<string, unknown>>;
  const upstream = processors[reader]?.upstream;
  return Array.isArray(upstream) ? upstream.indexOf(name) : name;
}

function documentBasics(doc: ConfigDocument): { top: Record<string, unknown>; baseDir: string; name: string } {
  const top = isRecord(doc.value) ? doc.value : {};
  const baseDir = dirname(doc.file);
  return { top, baseDir, name: typeof top.name === 'string' ? top.name : basename(baseDir) };
}

/**
 * The document's targets as resolvePipeline will resolve them, before its processors are: what a
 * read-only command may start opening while the rest loads (LoadOptions.onTargets). Problems are
 * left to resolvePipeline to report.
 */
export function targetsOf(doc: ConfigDocument, cwd: string): ResolvedTargets {
  const { top, baseDir, name } = documentBasics(doc);
  return resolveTargets(top, baseDir, name, new Reporter(doc, cwd));
}

export function resolvePipeline(
  doc: ConfigDocument,
  options: ResolveOptions,
  report = new Reporter(doc, options.cwd),
): { pipeline: Pipeline | undefined; reporter: Reporter } {
  const { top, baseDir, name } = documentBasics(doc);
  const { targets, defaultTarget } = resolveTargets(top, baseDir, name, report);
  const defaults = isRecord(top.defaults) ? top.defaults : {};
  const partitionColumn = typeof defaults.partition_column === 'string' ? defaults.partition_column : DEFAULTS.partitionColumn;

  const sources: Source[] = [];
  const names = new Set<string>();
  for (const [sourceName, raw] of entries(top.sources)) {
    names.add(sourceName);
    if (!isRecord(raw)) continue;
    sources.push({
      kind: 'source',
      name: sourceName,
      table: tableRef(raw.table),
      partitionColumn: typeof raw.partition_column === 'string' ? raw.partition_column : partitionColumn,
      description: typeof raw.description === 'string' ? raw.description : undefined,
      retentionDays: parseRetention(raw.retention),
    });
  }
  for (const [processorName] of entries(top.processors)) {
    if (names.has(processorName)) {
      report.error(
        CODES.duplicateName,
        ['processors', processorName],
        'key',
        `'${processorName}' is both a source and a processor`,
        `rename one; the source is at ${report.where(['sources', processorName])}`,
      );
    }
    names.add(processorName);
  }
  checkTables(top, report);
  checkDurations(top, report);
  checkWebhooks(top, report);
  checkLedgerSchema(top, targets, report);
  checkBigqueryLabels(top, report);
  checkBigqueryBatchSize(top, targets, report);

  const declared: Processor[] = [];
  const context = {
    report,
    project: projectFolder(baseDir),
    defaults,
    names,
    readText: options.readText,
    globFiles: options.globFiles,
    suggestName: nameSuggester(names),
  };
  for (const [processorName, raw] of entries(top.processors)) {
    const processor = resolveProcessor(processorName, raw, context);
    if (processor) declared.push(processor);
  }

  const calendar = typeof top.calendar === 'string' ? top.calendar : undefined;
  if (calendar !== undefined && !names.has(calendar)) {
    report.error(
      CODES.unknownCalendar,
      ['calendar'],
      'value',
      `calendar '${calendar}' names no source or processor${didYouMean(calendar, names)}`,
      'name the source (or processor) whose dates are the expected partitions, or omit calendar: for every calendar day',
    );
  } else if (calendar !== undefined && declared.some((p) => p.name === calendar)) {
    // Expected partitions are the dates the calendar table already holds: a processor as calendar can
    // never be missing a partition, so dag would never build a new one of it (nor let the calendar grow).
    report.warning(
      CODES.processorCalendar,
      ['calendar'],
      'value',
      `calendar '${calendar}' is a processor: the expected partitions are the dates its table already holds, so dag never builds a new partition of it and the calendar only grows if something else writes it`,
      'name a source (e.g. a schedule table) as the calendar, or declare this table under sources: if another tool builds it',
    );
  }

  const timeZone = resolveTimeZone(top, report);
  const asDeclared = declaredReads(top);
  checkCycles(asDeclared, report);
  const read = new Set(asDeclared.flatMap((p) => p.reads));
  for (const source of sources) {
    // '' is `null:`, already an invalid name.
    if (read.has(source.name) || source.name === calendar || source.name === '') continue;
    report.warning(
      CODES.unusedSource,
      ['sources', source.name],
      'key',
      `source ${source.name} is read by no processor`,
      `list it in a processor's upstream, use it as the calendar, or remove it`,
    );
  }

  // With every calendar day expected, nothing says where a running total begins: its first partition
  // in any range would read the day before, which is expected too, and be blocked OUT_OF_RANGE.
  if (calendar === undefined) {
    for (const processor of declared) {
      const readsEarlierSelf = processor.upstream.some(
        (u) => u.name === processor.name && (u.mapping.kind === 'offset' || (u.mapping.kind === 'lookback' && u.mapping.excludeCurrent)),
      );
      if (processor.start !== undefined || !readsEarlierSelf) continue;
      report.warning(
        CODES.selfReadWithoutStart,
        ['processors', processor.name],
        'key',
        `processor ${processor.name} reads its own earlier partitions but has no start, and the calendar is every day: its series has no first partition, so the first day of every range is blocked (OUT_OF_RANGE)`,
        `add start: YYYY-MM-DD (the first partition of the series), or set calendar:`,
      );
    }
  }

  if (report.errorCount > 0) return { pipeline: undefined, reporter: report };
  const order = topologicalOrder(indexGraphOf(declared, (p) => p.upstream.map((u) => u.name)).graph);
  const processors = order.map((i) => declared[i]!);
  const nodes = new Map<string, PipelineNode>([...sources, ...processors].map((n) => [n.name, n]));
  const pipeline: Pipeline = {
    name,
    file: doc.file,
    targets,
    defaultTarget,
    calendar,
    timeZone,
    sources,
    processors,
    nodes,
    notify: notifyOf(top.notify),
  };
  return { pipeline, reporter: report };
}
