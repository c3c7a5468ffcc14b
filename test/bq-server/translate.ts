/**
 * Turns the small BigQuery Standard SQL subset dag emits (and test fixtures write) into DuckDB SQL.
 * Deliberately literal: backtick names become schema-qualified names, @params become DuckDB literals,
 * UNNEST(@array) becomes DuckDB's unnest, INFORMATION_SCHEMA views become the server's own views.
 * Anything else is passed through, so a fixture using BigQuery-only syntax fails loudly in DuckDB.
 */
import { partitionClause, type Partitioning } from './partitioning.js';

/** A query parameter as the REST API carries it (jobs.insert configuration.query.queryParameters). */
export interface RestParameter {
  readonly name?: string;
  readonly parameterType: RestParameterType;
  readonly parameterValue: RestParameterValue;
}
export interface RestParameterType {
  readonly type: string;
  readonly arrayType?: RestParameterType;
  readonly structTypes?: readonly { readonly name?: string; readonly type: RestParameterType }[];
}
export interface RestParameterValue {
  readonly value?: string | null;
  readonly arrayValues?: readonly RestParameterValue[];
  readonly structValues?: Readonly<Record<string, RestParameterValue>>;
}

/** Splits a script on top-level semicolons (not inside quotes, backticks or comments). */
export function splitScript(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i] ?? '';
    const next = script[i + 1] ?? '';
    if (quote) {
      current += ch;
      if (ch === '\\' && quote !== '`') {
        current += next;
        i++;
      } else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end;
      current += '\n';
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 1;
      current += ' ';
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}

function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A parameter value as a DuckDB literal. */
export function literal(type: RestParameterType, value: RestParameterValue | undefined): string {
  if (type.type === 'ARRAY') {
    const items = value?.arrayValues ?? [];
    const itemType = type.arrayType ?? { type: 'STRING' };
    return `[${items.map((item) => literal(itemType, item)).join(', ')}]`;
  }
  if (type.type === 'STRUCT') {
    const fields = (type.structTypes ?? []).map((field) => `${quoteString(field.name ?? '')}: ${literal(field.type, value?.structValues?.[field.name ?? ''])}`);
    return `{${fields.join(', ')}}`;
  }
  const raw = value?.value;
  if (raw === null || raw === undefined) return 'NULL';
  switch (type.type) {
    case 'INT64':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      if (!/^-?[\d.eE+-]+$/.test(raw)) throw new Error(`bad numeric parameter ${raw}`);
      return raw;
    case 'BOOL':
      return raw === 'true' ? 'TRUE' : 'FALSE';
    case 'DATE':
      return `DATE ${quoteString(raw)}`;
    case 'TIMESTAMP':
      return `TIMESTAMP ${quoteString(raw)}`;
    default:
      return quoteString(raw);
  }
}

/** Replaces @name tokens outside quotes with literals. */
export function substituteParameters(sql: string, parameters: readonly RestParameter[]): string {
  const byName = new Map(parameters.map((p) => [p.name ?? '', p]));
  return mapOutsideQuotes(sql, (text) =>
    text.replace(/@([A-Za-z_]\w*)/g, (whole, name: string) => {
      const parameter = byName.get(name);
      if (!parameter) throw new BigqueryLikeError(400, 'invalidQuery', `Query parameter '${name}' not found at [${whole}]`);
      return literal(parameter.parameterType, parameter.parameterValue);
    }),
  );
}

/** Applies `fn` to the stretches of `sql` that are outside string literals (backticks included as code). */
function mapOutsideQuotes(sql: string, fn: (text: string) => string): string {
  let out = '';
  let chunk = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i] ?? '';
    if (quote) {
      out += ch;
      if (ch === '\\') {
        out += sql[i + 1] ?? '';
        i++;
      } else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') {
      out += fn(chunk) + ch;
      chunk = '';
      quote = ch;
      continue;
    }
    chunk += ch;
  }
  return out + fn(chunk);
}

/** Finds the index of the parenthesis closing the one at `open`. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new BigqueryLikeError(400, 'invalidQuery', 'Syntax error: unbalanced parentheses');
}

/** `IN UNNEST(x)` → `IN (SELECT unnest(x))`; `FROM/JOIN UNNEST(x)` → a subquery expanding structs to columns. */
export function translateUnnest(sql: string): string {
  let out = sql;
  for (;;) {
    const match = /\b(IN|FROM|JOIN)\s+UNNEST\s*\(/i.exec(out);
    if (!match) return out;
    const open = match.index + match[0].length - 1;
    const close = closingParen(out, open);
    const inner = out.slice(open + 1, close);
    const keyword = match[1] ?? '';
    const replacement = keyword.toUpperCase() === 'IN' ? `${keyword} (SELECT unnest(${inner}))` : `${keyword} (SELECT unnest(${inner}, recursive := true))`;
    out = out.slice(0, match.index) + replacement + out.slice(close + 1);
  }
}

/** A reference to a table as written in backticks: `project.dataset.table`, `dataset.table`. */
export interface NameParts {
  readonly dataset: string | undefined;
  readonly table: string;
}

export const INFORMATION_SCHEMA_VIEWS = ['PARTITIONS', 'TABLES', 'COLUMNS', 'TABLE_OPTIONS'] as const;

/**
 * Rewrites backtick-quoted names. `p.d.t`, `p`.`d`.`t`, `d.t` → "d"."t";
 * `p.d.INFORMATION_SCHEMA.PARTITIONS` → the server's view filtered to dataset d.
 */
export function translateNames(sql: string, onTable: (name: NameParts) => void = () => undefined): string {
  return sql.replace(/`[^`]+`(?:\s*\.\s*`[^`]+`)*(?:\.[A-Za-z_]\w*)*/g, (whole) => {
    const parts = whole
      .split(/`\s*\.\s*`|`/)
      .join('.')
      .split('.')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const upper = parts.map((p) => p.toUpperCase());
    const infoAt = upper.indexOf('INFORMATION_SCHEMA');
    if (infoAt >= 1) {
      const view = upper[infoAt + 1] ?? '';
      const dataset = parts[infoAt - 1] ?? '';
      if (!(INFORMATION_SCHEMA_VIEWS as readonly string[]).includes(view))
        throw new BigqueryLikeError(400, 'invalidQuery', `INFORMATION_SCHEMA.${view} is not served by the test server`);
      return `(SELECT * FROM __bq.${view.toLowerCase()} WHERE table_schema = ${quoteString(dataset)})`;
    }
    const table = parts[parts.length - 1] ?? '';
    const dataset = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    onTable({ dataset, table });
    return dataset ? `"${dataset}"."${table}"` : `"${table}"`;
  });
}

/** BigQuery's DDL column types and clauses DuckDB does not know. */
export function translateDdl(sql: string): { sql: string; partitionColumn: string | undefined; partitioning: Partitioning | undefined } {
  const asAt = /\bAS\s*(\(|SELECT\b|WITH\b)/i.exec(sql);
  const tail = asAt ? sql.slice(asAt.index) : '';
  const clause = partitionClause(asAt ? sql.slice(0, asAt.index) : sql);
  let head = clause.head;
  head = head.replace(/\bCLUSTER\s+BY\s+[\w\s,`]+?(?=\bOPTIONS\b|$)/i, ' ');
  head = head.replace(/\bOPTIONS\s*\([^)]*\)/i, ' ');
  return { sql: head + tail, partitionColumn: clause.partitioning?.column, partitioning: clause.partitioning };
}

/** An error in BigQuery's shape: HTTP status, a reason, a message. */
export class BigqueryLikeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
