/**
 * Fingerprints the ledger records with each partition. The code fingerprint changes when what a
 * processor would compute changes (SQL text, command and the content of the files it runs, mapping,
 * partition column) and not when only
 * comments, whitespace or scheduling settings (batch_size, timeout, start) change: reformatting a
 * file must not rebuild ten years of partitions.
 */
import { createHash } from 'node:crypto';
import type { Calendar } from './calendar.js';
import type { Day } from './dates.js';
import { inputsOf } from './inputs.js';
import type { Mapping, Processor } from './model.js';
import type { Snapshot } from './snapshot.js';

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** `$$` or `$tag$` opening a dollar-quoted string at i (DuckDB/Postgres), with its closing index; undefined otherwise. */
function dollarQuoteAt(sql: string, i: number): { readonly end: number } | undefined {
  if (sql[i] !== '$' || (i > 0 && /[A-Za-z0-9_$]/.test(sql[i - 1] as string))) return undefined;
  const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66))?.[0];
  if (tag === undefined) return undefined;
  const close = sql.indexOf(tag, i + tag.length);
  return close < 0 ? undefined : { end: close + tag.length };
}

/**
 * SQL with comments removed and whitespace collapsed, quoted text (strings, quoted identifiers,
 * dollar-quoted strings) kept verbatim: `select  a -- why\n from t` and `select a from t` normalise
 * alike. `backslashEscapes`: whether `\'` continues a string (BigQuery) or `\` is a plain character
 * before the closing quote (DuckDB); codeFingerprint uses both readings, see there.
 */
export function normaliseSql(sql: string, options: { readonly backslashEscapes?: boolean } = {}): string {
  const backslashEscapes = options.backslashEscapes ?? true;
  let out = '';
  let pendingSpace = false;
  const emit = (text: string): void => {
    // The last character alone: a regex anchored at the end of `out` scans all of it (quadratic).
    if (pendingSpace && out !== '' && !'(,;'.includes(out[out.length - 1] as string) && !/^[),;]/.test(text)) out += ' ';
    pendingSpace = false;
    out += text;
  };
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    const dollarQuote = ch === '$' ? dollarQuoteAt(sql, i) : undefined;
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
      pendingSpace = true;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      pendingSpace = true;
    } else if (dollarQuote !== undefined) {
      emit(sql.slice(i, dollarQuote.end));
      i = dollarQuote.end;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let end = i + 1;
      while (end < sql.length) {
        if (sql[end] === ch) {
          if (sql[end + 1] === ch)
            end += 2; // doubled quote escapes itself
          else break;
        } else if (sql[end] === '\\' && backslashEscapes) end += 2;
        else end++;
      }
      emit(sql.slice(i, end + 1));
      i = end + 1;
    } else if (/\s/.test(ch)) {
      pendingSpace = true;
      i++;
    } else {
      let end = i + 1;
      while (
        end < sql.length &&
        !/[\s'"`]/.test(sql[end] as string) &&
        !(sql[end] === '-' && sql[end + 1] === '-') &&
        !(sql[end] === '/' && sql[end + 1] === '*') &&
        dollarQuoteAt(sql, end) === undefined
      )
        end++;
      emit(sql.slice(i, end));
      i = end;
    }
  }
  return out;
}

function mappingText(mapping: Mapping): string {
  switch (mapping.kind) {
    case 'same':
      return 'same';
    case 'offset':
      return `offset:${mapping.offset}${mapping.unit === 'days' ? 'd' : ''}`;
    case 'lookback':
      return `lookback:${mapping.window}${mapping.unit === 'days' ? 'd' : ''}:min=${mapping.min ?? 'all'}:${mapping.excludeCurrent ? 'exclusive' : 'inclusive'}`;
  }
}

/**
 * Normalised SQL for the fingerprint. Engines disagree on `\'` inside a string (BigQuery: an escaped
 * quote; DuckDB: a backslash, then the end of the string), and reading it the wrong way turns string
 * content into code whose whitespace gets collapsed. Where the two readings differ, both go in, so a
 * change to any string's content counts under either engine; where they agree (nearly all SQL) the
 * fingerprint is what it always was.
 */
function sqlText(text: string): string {
  const escaped = normaliseSql(text);
  // Without a backslash the readings cannot differ: skip the second pass over the text.
  if (!text.includes('\\')) return escaped;
  const literal = normaliseSql(text, { backslashEscapes: false });
  return literal === escaped ? escaped : `${escaped}\nsql-without-backslash-escapes:${literal}`;
}

/**
 * The checks' part of the fingerprint: only processors with checks get the line, so every other
 * fingerprint stays what it was. A sql check counts by its normalised text (not its path): editing
 * the check's SELECT makes the partitions stale, reformatting it does not.
 */
function checksText(processor: Processor): string {
  if (processor.checks.length === 0) return '';
  const checks = processor.checks.map((check) => {
    const rule = check.rule.kind === 'sql' ? { kind: 'sql', text: sqlText(check.rule.text) } : check.rule;
    return [check.name, check.severity, rule];
  });
  return `\nchecks:${JSON.stringify(checks)}`;
}

/** What the ledger records as `code fingerprint`; a change makes every built partition `code_changed`. */
export function codeFingerprint(processor: Processor): string {
  const action = processor.action.kind === 'sql' ? `sql:${sqlText(processor.action.text)}` : `command:${JSON.stringify(processor.action.argv)}`;
  // Sorted so that reordering keys in pipeline.yaml changes nothing.
  const upstream = [...processor.upstream]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((u) => `${u.name}=${mappingText(u.mapping)}`)
    .join(',');
  // Only processors that run files get the extra line: every other fingerprint stays what it was.
  const files = processor.codeFiles.length === 0 ? '' : `\nfiles:${JSON.stringify(processor.codeFiles.map((f) => [f.path, f.hash]))}`;
  return shortHash(`v1\n${action}\nupstream:${upstream}\npartition_column:${processor.partitionColumn}${files}${checksText(processor)}`);
}

/** The version of one upstream partition as a snapshot knows it; `-` when absent. */
export function partitionVersion(snapshot: Snapshot, node: string, day: Day): string {
  const entry = snapshot.ledger.get(node)?.get(day);
  if (entry) return `L:${entry.runId}:${entry.builtAt}:${entry.rows}`;
  const info = snapshot.tables.get(node)?.partitions.get(day);
  return info ? `V:${info.version}` : '-';
}

/** A hash of the versions of every upstream partition `day` reads: what it was built from. */
export function inputFingerprint(processor: Processor, day: Day, snapshot: Snapshot, calendar: Calendar): string {
  const parts: string[] = [];
  for (const upstream of processor.upstream) {
    const versions = inputsOf(upstream, day, calendar).map((d) => `${d}=${partitionVersion(snapshot, upstream.name, d)}`);
    parts.push(`${upstream.name}[${versions.join(',')}]`);
  }
  return shortHash(parts.join('\n'));
}
