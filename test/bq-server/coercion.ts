/**
 * DATE and TIMESTAMP do not mix implicitly in BigQuery: DATE coerces only to DATETIME
 * (https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules), so
 * `game_date >= TIMESTAMP '2021-11-01'` or `game_date = some_timestamp` fails to compile ("No matching
 * signature for operator >= for argument types: DATE, TIMESTAMP"). DuckDB casts the DATE to TIMESTAMP
 * without a word. Here a query's unoptimized logical plan is read (EXPLAIN (FORMAT json) with explain_output
 * 'all'): a `CAST(<expression> AS TIMESTAMP)` it holds beyond those the SQL writes itself is such an
 * implicit conversion, and the query fails as on BigQuery. Casts of string literals are allowed (a
 * literal coerces to TIMESTAMP in BigQuery too). A heuristic: it also flags other implicit casts to
 * TIMESTAMP (e.g. of a DATETIME expression), which BigQuery refuses as well.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { BigqueryLikeError } from './translate.js';

/** `CAST(<x> AS TIMESTAMP)` in a text, x not a string literal nor NULL, parentheses balanced. */
function timestampCasts(text: string): number {
  let count = 0;
  for (const match of text.matchAll(/\bCAST\s*\(/gi)) {
    let depth = 1;
    let i = (match.index ?? 0) + match[0].length;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
    }
    const inner = text.slice(start, i - 1).trim();
    if (/\sAS\s+TIMESTAMP$/i.test(inner) && !/^('|NULL\s)/i.test(inner)) count++;
  }
  return count;
}

/** The query part of a translated statement worth checking (a query, CTAS or INSERT ... SELECT), if any. */
export function queryPart(sql: string): string | undefined {
  if (/^\s*(SELECT|WITH)\b/i.test(sql)) return sql;
  const tail = /^\s*(?:CREATE\b[\s\S]*?\bAS|INSERT\b[^()]*(?:\([^()]*\))?)\s*((?:SELECT|WITH)\b[\s\S]*)$/i.exec(sql);
  return tail?.[1];
}

export async function checkTimestampCoercion(connection: DuckDBConnection, query: string): Promise<void> {
  await connection.run("SET explain_output = 'all'");
  const reader = await connection.runAndReadAll(`EXPLAIN (FORMAT json) ${query}`); // JSON: expressions are not wrapped
  const logical = reader.getRows().find((row) => String(row[0]) === 'logical_plan')?.[1];
  if (logical === undefined) return;
  if (timestampCasts(String(logical)) > timestampCasts(query))
    throw new BigqueryLikeError(
      400,
      'invalidQuery',
      'No matching signature for operator for argument types: DATE, TIMESTAMP (BigQuery converts DATE to TIMESTAMP only when written: CAST(x AS TIMESTAMP) or TIMESTAMP(x)) at [1:1]',
    );
}
