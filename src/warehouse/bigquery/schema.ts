/**
 * Schema changes on BigQuery (DESIGN §8): before the first batch of a processor writes, its SELECT's
 * columns (a free dry run: statistics.query.schema) are compared with the table's (tables.get, which
 * shows a schema change at once where INFORMATION_SCHEMA.COLUMNS may lag:
 * https://cloud.google.com/bigquery/docs/managing-table-schemas). The decision itself is shared with
 * DuckDB (../schema-change.ts); this module knows BigQuery's types and which of them widen in place.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { BigqueryTarget, TableRef } from '../../core/model.js';
import type { Column, TypeRules } from '../schema-change.js';
import { isNotFound } from './errors.js';
import { jobOptions, type JobContext } from './jobs.js';
import { column } from './sql.js';

/**
 * Lossless in-place widenings. ALTER COLUMN SET DATA TYPE changes a column only to a type its values
 * coerce to (managing-table-schemas, "Change a column's data type"); the coercions are INT64 → NUMERIC,
 * BIGNUMERIC, FLOAT64; NUMERIC → BIGNUMERIC, FLOAT64; BIGNUMERIC → FLOAT64; DATE → DATETIME
 * (https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules, "Coerce to").
 * dag takes the ones that keep every value: not NUMERIC/BIGNUMERIC → FLOAT64 (rounds), and not DATE →
 * DATETIME either (a different type than DuckDB's DATE → TIMESTAMP, and BigQuery has no DATE → TIMESTAMP).
 * INT64 → FLOAT64 is taken as DESIGN §8 counts BIGINT → DOUBLE lossless.
 */
const WIDENINGS: Readonly<Record<string, readonly string[]>> = {
  INT64: ['NUMERIC', 'BIGNUMERIC', 'FLOAT64'],
  NUMERIC: ['BIGNUMERIC'],
};

export const BIGQUERY_TYPES: TypeRules = {
  dateType: 'DATE',
  widens: (from, to) => from === to || (WIDENINGS[from]?.includes(to) ?? false),
  kind: (type) => (type === 'INT64' ? 'integer' : type === 'FLOAT64' ? 'float' : type === 'NUMERIC' || type === 'BIGNUMERIC' ? 'decimal' : type),
  examples: 'INT64 to NUMERIC, BIGNUMERIC or FLOAT64, NUMERIC to BIGNUMERIC',
  cast: (name, type) => `CAST(${name} AS ${type})`,
};

/** A schema field as the REST API gives it (tables.get, a dry run's statistics.query.schema). */
interface FieldLike {
  readonly name?: string;
  readonly type?: string;
  readonly mode?: string;
  readonly fields?: readonly FieldLike[];
}

/** REST schemas use the legacy type names; dag compares and writes DDL with the standard ones. */
const STANDARD_NAMES: Readonly<Record<string, string>> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

/** The field's type as GoogleSQL DDL spells it: `INT64`, `ARRAY<STRING>`, `STRUCT<a INT64>`. */
export function fieldType(field: FieldLike): string {
  const named = (field.type ?? 'STRING').toUpperCase();
  const base = STANDARD_NAMES[named] ?? named;
  const inner = base === 'STRUCT' ? `STRUCT<${(field.fields ?? []).map((f) => `${column(f.name ?? '')} ${fieldType(f)}`).join(', ')}>` : base;
  return field.mode === 'REPEATED' ? `ARRAY<${inner}>` : inner;
}

function columnsOf(fields: readonly FieldLike[] | undefined): Column[] {
  return (fields ?? []).map((field) => ({ name: field.name ?? '', type: fieldType(field) }));
}

/** The table's columns, or undefined when it does not exist. */
export async function tableColumns(client: BigQuery, target: BigqueryTarget, table: TableRef): Promise<Column[] | undefined> {
  try {
    const [metadata] = await client.dataset(table.schema, { projectId: target.project }).table(table.name).getMetadata();
    return columnsOf((metadata as { schema?: { fields?: FieldLike[] } }).schema?.fields);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The SELECT's columns, from a dry run (free; the SELECT is compiled, not run). */
export async function selectColumns(client: BigQuery, select: string, context: JobContext): Promise<Column[]> {
  const [job] = await client.createQueryJob(jobOptions(select, undefined, context, true));
  const metadata = job.metadata as { statistics?: { query?: { schema?: { fields?: FieldLike[] } } } };
  return columnsOf(metadata.statistics?.query?.schema?.fields);
}
