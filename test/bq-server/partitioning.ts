/**
 * Time-unit column partitioning as BigQuery has it: `PARTITION BY col` / `DATE(col)` (DAY),
 * `DATE_TRUNC(col, MONTH|YEAR)`, `TIMESTAMP_TRUNC(col, HOUR|DAY|MONTH|YEAR)`, and the partition ids
 * each granularity gives: YYYYMMDDHH, YYYYMMDD, YYYYMM, YYYY
 * (https://cloud.google.com/bigquery/docs/partitioned-tables#date_timestamp_partitioned_tables,
 * https://cloud.google.com/bigquery/docs/managing-partitioned-tables). Served to tables.get as
 * `timePartitioning.type` and to INFORMATION_SCHEMA.TABLES as the `ddl` column's PARTITION BY (engine.ts).
 */

export type Granularity = 'HOUR' | 'DAY' | 'MONTH' | 'YEAR';

export interface Partitioning {
  readonly column: string;
  readonly granularity: Granularity;
}

const CLAUSE =
  /\bPARTITION\s+BY\s+(?:(?:DATE|TIMESTAMP|DATETIME)_TRUNC\s*\(\s*`?([A-Za-z_]\w*)`?\s*,\s*(HOUR|DAY|MONTH|YEAR)\s*\)|DATE\s*\(\s*`?([A-Za-z_]\w*)`?\s*\)|`?([A-Za-z_]\w*)`?)/i;

/** The PARTITION BY clause of a CREATE TABLE head, and the head without it. */
export function partitionClause(head: string): { head: string; partitioning: Partitioning | undefined } {
  const match = CLAUSE.exec(head);
  if (!match) return { head, partitioning: undefined };
  const column = match[1] ?? match[3] ?? match[4] ?? '';
  const granularity = (match[2]?.toUpperCase() ?? 'DAY') as Granularity;
  return { head: `${head.slice(0, match.index)} ${head.slice(match.index + match[0].length)}`, partitioning: { column, granularity } };
}

const FORMATS: Readonly<Record<Granularity, string>> = { HOUR: '%Y%m%d%H', DAY: '%Y%m%d', MONTH: '%Y%m', YEAR: '%Y' };

/** DuckDB SQL for a row's partition id (`__NULL__` for a NULL partitioning value). */
export function partitionIdSql(column: string, granularity: string): string {
  const format = FORMATS[granularity as Granularity] ?? FORMATS.DAY;
  return `coalesce(strftime("${column}", '${format}'), '__NULL__')`;
}
