/**
 * One processor entry resolved to the model: upstream mappings, its sql file or command, and its
 * settings (processor, then `defaults:`, then DEFAULTS). Problems go to the Reporter; the caller
 * discards the result when any error was reported.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseIsoDate } from '../core/dates.js';
import { didYouMean } from '../core/did-you-mean.js';
import { DEFAULTS, type Notify, type OnSchemaChange, type Processor, type ProcessorAction, type TableRef, type Upstream } from '../core/model.js';
import { resolveCodeFiles, type GlobFiles } from './code-files.js';
import { resolveChecks } from './resolve-checks.js';
import { CODES } from './codes.js';
import { isRecord, optionalString, type Path } from './document.js';
import { placement, type ProjectFolder } from './project-files.js';
import type { Reporter } from './report.js';
import { checkSqlTemplate } from './sql-check.js';
import { parseDuration, parseMapping, parseRetention, windowCapacity } from './values.js';

export interface ProcessorContext {
  readonly report: Reporter;
  /** The folder of the pipeline file: SQL and code files must lie inside it. */
  readonly project: ProjectFolder;
  readonly defaults: Record<string, unknown>;
  /** Every source and processor name in the file. */
  readonly names: ReadonlySet<string>;
  readonly readText: (file: string) => string | undefined;
  readonly globFiles: GlobFiles;
  /** `; did you mean 'X'?` among the names other than `exclude` (empty once its work budget is spent). */
  readonly suggestName: (word: string, exclude: string) => string;
}

export function tableRef(value: unknown): TableRef {
  const [schema = '', name = ''] = typeof value === 'string' ? value.split('.') : [];
  return { schema, name };
}

export function notifyOf(value: unknown): Notify | undefined {
  return isRecord(value) ? { webhook: optionalString(value.webhook) } : undefined;
}

/** Declared upstream entries with where each one is written (list item or map key). */
export function declaredUpstream(raw: unknown, at: Path): { name: string; mapping: unknown; path: Path; part: 'key' | 'value' }[] {
  if (Array.isArray(raw)) {
    return raw.flatMap((name, i) => (typeof name === 'string' ? [{ name, mapping: 'same', path: [...at, i], part: 'value' as const }] : []));
  }
  if (isRecord(raw)) return Object.entries(raw).map(([name, mapping]) => ({ name, mapping, path: [...at, name], part: 'key' as const }));
  return [];
}

const MAPPING_PROBLEMS = {
  both: ['has both offset and lookback', 'keep one: { offset: -1 } reads one earlier partition, { lookback: 7 } a window'],
  neither: ['says neither offset nor lookback', 'write same, { offset: -1 } or { lookback: 7 }'],
  'min-without-lookback': ['has min without lookback', 'min applies to a lookback window: { lookback: 14, min: 10 }'],
  'exclude-without-lookback': ['has exclude_current without lookback', 'exclude_current applies to a lookback window: { lookback: 7, exclude_current: true }'],
} as const;

const MAPPING_KEYS = new Set(['offset', 'lookback', 'min', 'exclude_current']);
const PLACEHOLDERS = ['{start}', '{end}', '{target}'];

function resolveUpstream(name: string, raw: Record<string, unknown>, ctx: ProcessorContext): { upstream: Upstream[]; paths: Map<string, Path> } {
  const { report } = ctx;
  const at = ['processors', name, 'upstream'];
  const upstream: Upstream[] = [];
  const paths = new Map<string, Path>();
  for (const entry of declaredUpstream(raw.upstream, at)) {
    if (paths.has(entry.name)) {
      report.error(
        CODES.duplicateUpstream,
        entry.path,
        entry.part,
        `processor ${name} lists upstream '${entry.name}' twice`,
        `remove one; the first is at ${report.where(paths.get(entry.name)!, 'value')}`,
      );
      continue;
    }
    paths.set(entry.name, entry.path);
    if (!ctx.names.has(entry.name)) {
      report.error(
        CODES.unknownUpstream,
        entry.path,
        entry.part,
        `processor ${name} reads '${entry.name}', which is neither a source nor a processor${ctx.suggestName(entry.name, name)}`,
        'declare it under sources: or processors:, or fix the name',
      );
    }
    const outcome = parseMapping(entry.mapping);
    if (!outcome.ok) {
      // `{ same: true }` or `{ ofset: -1 }`: the unknown key is the whole story, and the schema told it.
      const onlyUnknownKeys = outcome.problem === 'neither' && isRecord(entry.mapping) && Object.keys(entry.mapping).some((key) => !MAPPING_KEYS.has(key));
      if (outcome.problem !== 'malformed' && !onlyUnknownKeys) {
        const [what, hint] = MAPPING_PROBLEMS[outcome.problem];
        report.error(CODES.invalidMapping, [...at, entry.name], 'value', `the mapping of ${name}'s upstream '${entry.name}' ${what}`, hint);
      }
      continue;
    }
    const mapping = outcome.mapping;
    if (mapping.kind === 'lookback' && mapping.min !== undefined && mapping.min > windowCapacity(mapping)) {
      report.error(
        CODES.minExceedsWindow,
        [...at, entry.name, 'min'],
        'value',
        `min ${mapping.min} is larger than the lookback window of ${name}'s upstream '${entry.name}', which holds at most ${windowCapacity(mapping)} partitions`,
        `lower min to at most ${windowCapacity(mapping)}, or widen the lookback`,
      );
    }
    const readsOwnPartition = mapping.kind === 'same' || (mapping.kind === 'lookback' && !mapping.excludeCurrent);
    if (entry.name === name && readsOwnPartition) {
      report.error(
        CODES.selfDependency,
        entry.path,
        entry.part,
        `processor ${name} reads its own partition d, so it can never be built`,
        'read earlier partitions only: { offset: -1 } or { lookback: n, exclude_current: true }',
      );
    }
    upstream.push({ name: entry.name, mapping });
  }
  return { upstream, paths };
}

function resolveAction(
  name: string,
  raw: Record<string, unknown>,
  upstreamPaths: ReadonlyMap<string, Path>,
  ctx: ProcessorContext,
): ProcessorAction | undefined {
  const { report } = ctx;
  const at = ['processors', name];
  if (raw.sql !== undefined && raw.command !== undefined) {
    report.error(
      CODES.sqlAndCommand,
      [...at, 'command'],
      'key',
      `processor ${name} has both sql and command`,
      'keep one: sql for a SELECT the warehouse runs, command for a program that writes the partitions itself',
    );
    return undefined;
  }
  if (raw.sql === undefined && raw.command === undefined) {
    report.error(
      CODES.missingSqlOrCommand,
      at,
      'key',
      `processor ${name} has neither sql nor command`,
      'add sql: path/to/query.sql or command: [program, args...]',
    );
    return undefined;
  }
  if (Array.isArray(raw.command)) return checkCommand(name, raw.command, ctx);
  if (typeof raw.sql !== 'string' || raw.sql === '') return undefined; // wrong type or empty: the schema reported it
  const file = resolve(ctx.project.dir, raw.sql);
  const where = placement(ctx.project, file);
  if (where !== 'inside') {
    // Never read it: its first line would reach the terminal in a parser error.
    const how = where === 'outside' ? 'is outside the project folder' : 'is a link to a file outside the project folder';
    report.error(
      CODES.pathOutsideProject,
      [...at, 'sql'],
      'value',
      `processor ${name}: SQL file ${raw.sql} ${how}`,
      `keep SQL files inside the folder of ${report.doc.displayFile}, e.g. sql/${name.toLowerCase()}.sql`,
    );
    return undefined;
  }
  const read = ctx.readText(file);
  if (read === undefined) {
    report.error(
      CODES.sqlFileMissing,
      [...at, 'sql'],
      'value',
      `processor ${name}: SQL file ${raw.sql} ${whyUnreadable(file)}`,
      `create it, or fix the path (relative to the folder of ${report.doc.displayFile})`,
    );
    return undefined;
  }
  // A byte-order mark is invisible in editors and not SQL: drop it, so positions and queries match what people see.
  const text = read.replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    report.error(
      CODES.sqlFileEmpty,
      [...at, 'sql'],
      'value',
      `processor ${name}: SQL file ${raw.sql} is empty`,
      'write the SELECT that yields the rows of {{ start_date }}..{{ end_date }} in it',
    );
    return undefined;
  }
  checkSqlTemplate({ processor: name, file, text, upstreamPaths, names: ctx.names, report });
  return { kind: 'sql', file, text };
}

function whyUnreadable(file: string): string {
  try {
    return statSync(file).isDirectory() ? 'is a folder, not a file' : 'cannot be read';
  } catch {
    return 'does not exist';
  }
}

/** Problems the schema cannot see in an argv of strings: no program, or a misspelt placeholder. */
function checkCommand(name: string, command: unknown[], ctx: ProcessorContext): ProcessorAction {
  const at = ['processors', name, 'command'];
  const argv = command.filter((a): a is string => typeof a === 'string');
  if (command[0] === '' || (typeof command[0] === 'string' && command[0].trim() === '')) {
    ctx.report.error(
      CODES.invalidCommand,
      [...at, 0],
      'value',
      `the command of ${name} has an empty program name`,
      'the first item is the program to run, e.g. python or ./jobs/build.sh',
    );
  }
  command.forEach((arg, i) => {
    if (typeof arg !== 'string') return;
    for (const placeholder of arg.match(/\{[A-Za-z_]+\}/g) ?? []) {
      if (PLACEHOLDERS.includes(placeholder)) continue;
      ctx.report.warning(
        CODES.unknownPlaceholder,
        [...at, i],
        'value',
        `${placeholder} in the command of ${name} is passed as is: dag substitutes only ${PLACEHOLDERS.join(', ')}${didYouMean(placeholder, PLACEHOLDERS)}`,
        `write one of ${PLACEHOLDERS.join(', ')}, or ignore this if the program expects the braces literally`,
      );
    }
  });
  return { kind: 'command', argv };
}

function setting<T>(raw: Record<string, unknown>, ctx: ProcessorContext, key: string, parse: (value: unknown) => T | undefined, fallback: T): T {
  return parse(raw[key]) ?? parse(ctx.defaults[key]) ?? fallback;
}

const int = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
const bool = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);
// Any other value failed the schema's enum (reported with its position); the default stands meanwhile.
const schemaPolicy = (value: unknown): OnSchemaChange | undefined => (value === 'add_columns' || value === 'fail' ? value : undefined);
export function resolveProcessor(name: string, rawValue: unknown, ctx: ProcessorContext): Processor | undefined {
  if (!isRecord(rawValue)) return undefined; // the schema reported the wrong type
  const raw = rawValue;
  const { upstream, paths } = resolveUpstream(name, raw, ctx);
  const action = resolveAction(name, raw, paths, ctx);
  let start: number | undefined;
  if (typeof raw.start === 'string') {
    start = parseIsoDate(raw.start);
    // A well-formed but impossible date (2021-02-30); malformed ones failed the schema pattern.
    if (start === undefined && /^\d{4}-\d{2}-\d{2}$/.test(raw.start)) {
      ctx.report.error(
        CODES.invalidDate,
        ['processors', name, 'start'],
        'value',
        `processor ${name}: start ${raw.start} is not a calendar date`,
        'write an existing date as YYYY-MM-DD',
      );
    }
  }
  if (!action) return undefined;
  const codeFiles = resolveCodeFiles(name, raw, action, ctx);
  const checks = resolveChecks(name, raw, action, new Set(upstream.map((u) => u.name)), ctx);
  return {
    kind: 'processor',
    name,
    table: tableRef(raw.table),
    partitionColumn: setting(raw, ctx, 'partition_column', optionalString, DEFAULTS.partitionColumn),
    description: optionalString(raw.description),
    upstream,
    action,
    codeFiles,
    start,
    retentionDays: parseRetention(raw.retention),
    batchSize: setting(raw, ctx, 'batch_size', int, DEFAULTS.batchSize),
    timeoutMs: setting(raw, ctx, 'timeout', parseDuration, DEFAULTS.timeoutMs),
    retries: setting(raw, ctx, 'retries', int, DEFAULTS.retries),
    concurrency: setting(raw, ctx, 'concurrency', int, DEFAULTS.concurrency),
    allowEmpty: setting(raw, ctx, 'allow_empty', bool, false),
    onSchemaChange: setting(raw, ctx, 'on_schema_change', schemaPolicy, DEFAULTS.onSchemaChange),
    checks,
    notify: notifyOf(raw.notify),
  };
}
