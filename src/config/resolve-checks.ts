/**
 * A processor's `checks:` (after those of `defaults:`) resolved to the model (DESIGN §9,
 * docs/checks.md). The schema has checked each entry's shape; this reports what it cannot see: an
 * entry with two kinds or none, min above max, two checks with one name, a relationships target that
 * is not an upstream, a sql check's file and templates, and (where the processor's SQL says which
 * columns it yields) columns that do not exist.
 */
import { basename, resolve } from 'node:path';
import type { Check, CheckRule, CheckSeverity, ProcessorAction } from '../core/model.js';
import { CODES } from './codes.js';
import { isRecord, type Path } from './document.js';
import { placement } from './project-files.js';
import type { Reporter } from './report.js';
import type { ProcessorContext } from './resolve-processor.js';
import { selectedColumns } from './select-columns.js';
import { checkSqlTemplate } from './sql-check.js';

const KINDS = ['not_null', 'unique', 'row_count', 'accepted_values', 'relationships', 'sql'] as const;
type Kind = (typeof KINDS)[number];

/** Problems of a `defaults:` check are the same for every processor: each is reported once. */
const reportedOnce = new WeakMap<Reporter, Set<string>>();

interface Where {
  readonly processor: string;
  readonly path: Path;
  readonly report: (code: Parameters<Reporter['error']>[0], path: Path, part: 'key' | 'value', message: string, hint: string) => void;
}

/** The processor's checks, `defaults:` first; undefined entries (reported problems) are left out. */
export function resolveChecks(
  name: string,
  raw: Record<string, unknown>,
  action: ProcessorAction,
  upstream: ReadonlySet<string>,
  ctx: ProcessorContext,
): Check[] {
  const seen = reportedOnce.get(ctx.report) ?? new Set<string>();
  reportedOnce.set(ctx.report, seen);
  const entries: { value: unknown; path: Path; once: boolean }[] = [];
  const add = (list: unknown, path: Path, once: boolean): void => {
    if (Array.isArray(list)) for (const [i, value] of list.entries()) entries.push({ value, path: [...path, i], once });
  };
  add(ctx.defaults.checks, ['defaults', 'checks'], true);
  add(raw.checks, ['processors', name, 'checks'], false);
  // Parsing the SQL's select list is only for checks to name columns in (2,000 processors: 34 ms).
  const known = action.kind === 'sql' && entries.length > 0 ? selectedColumns(action.text) : undefined;
  const checks: Check[] = [];
  const names = new Map<string, Path>();
  for (const entry of entries) {
    const where: Where = {
      processor: name,
      path: entry.path,
      report: (code, path, part, message, hint) => {
        const key = `${code}\u0000${path.join('.')}\u0000${message}`;
        if (entry.once && seen.has(key)) return;
        seen.add(key);
        ctx.report.error(code, path, part, message, hint);
      },
    };
    const check = resolveCheck(entry.value, where, upstream, known, ctx);
    if (!check) continue;
    const first = names.get(check.name);
    if (first) {
      where.report(
        CODES.duplicateCheckName,
        entry.path,
        'value',
        `processor ${name} has two checks named '${check.name}'`,
        `give one a name: (name: ...); the first is at ${ctx.report.where(first, 'value')}`,
      );
      continue;
    }
    names.set(check.name, entry.path);
    checks.push(check);
  }
  return checks;
}

function resolveCheck(
  value: unknown,
  where: Where,
  upstream: ReadonlySet<string>,
  known: ReadonlySet<string> | undefined,
  ctx: ProcessorContext,
): Check | undefined {
  if (!isRecord(value)) return undefined; // the schema reported the wrong type
  const kinds = KINDS.filter((kind) => value[kind] !== undefined);
  if (kinds.length !== 1) {
    const what = kinds.length === 0 ? 'says no check' : `has ${kinds.join(' and ')}`;
    where.report(
      CODES.invalidCheck,
      where.path,
      'value',
      `a check of ${where.processor} ${what}`,
      `each list item is one check: ${KINDS.join(', ')} (with optional severity and name)`,
    );
    return undefined;
  }
  const kind = kinds[0] as Kind;
  const rule = resolveRule(kind, value[kind], where, upstream, known, ctx);
  if (!rule) return undefined;
  const severity: CheckSeverity = value.severity === 'warn' ? 'warn' : 'error';
  const name = typeof value.name === 'string' && value.name !== '' ? value.name : defaultName(rule);
  return { name, severity, rule };
}

/** What a check is called without `name:`: what it does, e.g. `not_null(player_id,game_date)`. */
export function defaultName(rule: CheckRule): string {
  switch (rule.kind) {
    case 'not_null':
    case 'unique':
      return `${rule.kind}(${rule.columns.join(',')})`;
    case 'row_count':
      return `row_count(${[rule.min === undefined ? '' : `min=${rule.min}`, rule.max === undefined ? '' : `max=${rule.max}`].filter(Boolean).join(',')})`;
    case 'accepted_values':
      return `accepted_values(${rule.column})`;
    case 'relationships':
      return `relationships(${rule.column}->${rule.to}.${rule.field})`;
    case 'sql':
      return basename(rule.file).replace(/\.sql$/i, '');
  }
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const optionalInt = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);

function resolveRule(
  kind: Kind,
  value: unknown,
  where: Where,
  upstream: ReadonlySet<string>,
  known: ReadonlySet<string> | undefined,
  ctx: ProcessorContext,
): CheckRule | undefined {
  const at = [...where.path, kind];
  const columnsExist = (columns: readonly string[], path: (i: number) => Path): boolean => {
    if (!known) return true;
    let ok = true;
    columns.forEach((column, i) => {
      if (known.has(column.toLowerCase())) return;
      ok = false;
      where.report(
        CODES.checkUnknownColumn,
        path(i),
        'value',
        `a check of ${where.processor} names column '${column}', which its SQL does not yield`,
        `its SELECT yields ${[...known].join(', ')}; fix the column name or the SELECT`,
      );
    });
    return ok;
  };
  switch (kind) {
    case 'not_null':
    case 'unique': {
      const columns = strings(value);
      if (columns.length === 0) return undefined;
      return columnsExist(columns, (i) => [...at, i]) ? { kind, columns } : undefined;
    }
    case 'row_count': {
      if (!isRecord(value)) return undefined;
      const min = optionalInt(value.min);
      const max = optionalInt(value.max);
      if (min === undefined && max === undefined) return undefined;
      if (min !== undefined && max !== undefined && min > max) {
        where.report(
          CODES.invalidCheck,
          at,
          'value',
          `the row_count check of ${where.processor} has min ${min} above max ${max}`,
          'no partition could pass: lower min or raise max',
        );
        return undefined;
      }
      return { kind, min, max };
    }
    case 'accepted_values': {
      if (!isRecord(value) || typeof value.column !== 'string' || !Array.isArray(value.values)) return undefined;
      const values = value.values.filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v));
      return columnsExist([value.column], () => [...at, 'column']) ? { kind, column: value.column, values } : undefined;
    }
    case 'relationships': {
      if (!isRecord(value) || typeof value.column !== 'string' || typeof value.to !== 'string' || typeof value.field !== 'string') return undefined;
      if (!upstream.has(value.to) || value.to === where.processor) {
        where.report(
          CODES.checkNotUpstream,
          [...at, 'to'],
          'value',
          `the relationships check of ${where.processor} reads '${value.to}', which is not one of its upstreams`,
          `add ${value.to} to ${where.processor}'s upstream (so dag builds it first), or name one of: ${[...upstream].filter((u) => u !== where.processor).join(', ') || '(none declared)'}`,
        );
        return undefined;
      }
      return columnsExist([value.column], () => [...at, 'column']) ? { kind, column: value.column, to: value.to, field: value.field } : undefined;
    }
    case 'sql':
      return sqlRule(value, at, where, upstream, ctx);
  }
}

/** A sql check's file: inside the project, readable, not empty, its templates sound (refs to upstreams). */
function sqlRule(value: unknown, at: Path, where: Where, upstream: ReadonlySet<string>, ctx: ProcessorContext): CheckRule | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const file = resolve(ctx.project.dir, value);
  if (placement(ctx.project, file) !== 'inside') {
    where.report(
      CODES.pathOutsideProject,
      at,
      'value',
      `a check of ${where.processor}: SQL file ${value} is outside the project folder`,
      `keep check files inside the folder of ${ctx.report.doc.displayFile}, e.g. checks/${where.processor.toLowerCase()}.sql`,
    );
    return undefined;
  }
  const read = ctx.readText(file);
  if (read === undefined) {
    where.report(
      CODES.sqlFileMissing,
      at,
      'value',
      `a check of ${where.processor}: SQL file ${value} cannot be read (or does not exist)`,
      `create it, or fix the path (relative to the folder of ${ctx.report.doc.displayFile})`,
    );
    return undefined;
  }
  const text = read.replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    where.report(
      CODES.sqlFileEmpty,
      at,
      'value',
      `a check of ${where.processor}: SQL file ${value} is empty`,
      'write a SELECT that returns the offending rows of {{ start_date }}..{{ end_date }} from {{ this }}',
    );
    return undefined;
  }
  const upstreamPaths = new Map([...upstream].map((u): [string, Path] => [u, at]));
  checkSqlTemplate({ processor: where.processor, file, text, upstreamPaths, names: ctx.names, report: ctx.report, warnUnused: false });
  return { kind: 'sql', file, text };
}
