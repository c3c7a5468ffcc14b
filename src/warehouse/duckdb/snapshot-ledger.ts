/**
 * The ledger reads of a DuckDB snapshot: the (name, table) groups, the processors' entries as numbers
 * (two queries) and the latest failures (recorded source versions are compared inside the inventory
 * queries, snapshot-columns.ts). Rows are matched to processors by the processor's
 * ledger key: its table (ledger version 2), or its name in a version-1 ledger read as such.
 */
import type { Day } from '../../core/dates.js';
import type { PipelineNode } from '../../core/model.js';
import { ledgerKeyOf, type LedgerNames } from '../shared.js';
import type { SerialConnection } from './connection.js';
import type { LedgerColumns } from './snapshot-columns.js';
import { dayExpression, ledgerTable, quoteIdent, quoteString, stringList } from './sql.js';

/** Where the ledger is and how its rows are keyed. */
export interface LedgerReader {
  readonly ledgerSchema: string;
  /** False for a version-1 ledger: its rows carry no table, so they are matched by name. */
  readonly byTable: boolean;
}

/**
 * The ledger's rows grouped by the processor name and table they were recorded under, with their
 * counts: which processors have ledger entries at all, and which rows belong to a former name or to
 * no processor of the pipeline (Snapshot.formerNames / orphanedLedger). One scan of the ledger.
 */
export async function readLedgerNames(connection: SerialConnection, ledgerSchema: string, byTable: boolean): Promise<LedgerNames[]> {
  const table = byTable ? 'table_name' : 'NULL::VARCHAR';
  const [names = [], tables = [], counts = []] = await connection.columns(
    `SELECT processor, ${table}, count(*)::DOUBLE FROM ${ledgerTable(ledgerSchema, 'partitions')} GROUP BY ALL`,
  );
  return names.map((name, i) => ({ processor: String(name), table: tables[i] === null ? undefined : String(tables[i]), partitions: Number(counts[i]) }));
}

/**
 * Two queries: the distinct code fingerprints and run ids of the owners' rows (a handful) and their
 * count, then every row as numbers, streamed into arrays of that size, with fingerprints and run ids
 * replaced by their index (a hash join on the lists).
 * Owner i is processors[i], keyed by its ledger key (its table, or its name in a version-1 ledger).
 */
export async function readLedgerColumns(connection: SerialConnection, reader: LedgerReader, processors: readonly PipelineNode[]): Promise<LedgerColumns> {
  const partitionsTable = ledgerTable(reader.ledgerSchema, 'partitions');
  const keyColumn = reader.byTable ? 'table_name' : 'processor';
  const keys = processors.map((node) => ledgerKeyOf(node, reader.byTable));
  const where = `${quoteIdent(keyColumn)} IN (${stringList(keys)})`;
  const [kinds = [], texts = []] = await connection.columns(
    `SELECT 0, code_fingerprint FROM ${partitionsTable} WHERE ${where} GROUP BY 2 UNION ALL SELECT 1, run_id FROM ${partitionsTable} WHERE ${where} GROUP BY 2 UNION ALL SELECT 2, count(*)::VARCHAR FROM ${partitionsTable} WHERE ${where}`,
  );
  const codes: string[] = [];
  const runs: string[] = [];
  let count = 0;
  kinds.forEach((kind, i) => {
    if (Number(kind) === 2) count = Number(texts[i]);
    else (Number(kind) === 0 ? codes : runs).push(String(texts[i]));
  });
  if (codes.length === 0)
    return {
      owner: new Float64Array(),
      days: new Float64Array(),
      builtAt: new Float64Array(),
      rows: new Float64Array(),
      code: new Float64Array(),
      run: new Float64Array(),
      codes,
      runs,
    };
  const values = (list: readonly string[]): string => list.map((text, i) => `(${quoteString(text)}, ${i})`).join(', ');
  const [owner = new Float64Array(), days = owner, builtAt = owner, rows = owner, code = owner, run = owner] = await connection.numbers(
    `SELECT o.i::DOUBLE, ${dayExpression('p.partition_date')}::DOUBLE, epoch_ms(p.built_at)::DOUBLE, p."rows"::DOUBLE, c.i::DOUBLE, r.i::DOUBLE FROM ${partitionsTable} AS p JOIN (VALUES ${values(keys)}) AS o(k, i) ON p.${quoteIdent(keyColumn)} = o.k JOIN (VALUES ${values(codes)}) AS c(f, i) ON p.code_fingerprint = c.f JOIN (VALUES ${values(runs)}) AS r(id, i) ON p.run_id = r.id ORDER BY 1, 2`,
    count,
  );
  return { owner, days, builtAt, rows, code, run, codes, runs };
}

/**
 * Latest failure per processor partition, kept only when no ledger build came after it. Failures are
 * recorded by processor name; the builds they are compared with are found by the processor's ledger
 * key (its table), like its ledger entries.
 */
export interface LatestFailures {
  readonly failures: Map<string, Map<Day, string>>;
  /** Those whose category is CHECK_FAILED, with the message. */
  readonly checkFailures: Map<string, Map<Day, string>>;
}

export async function readFailures(connection: SerialConnection, reader: LedgerReader, processors: readonly PipelineNode[]): Promise<LatestFailures> {
  const failures = ledgerTable(reader.ledgerSchema, 'failures');
  const partitions = ledgerTable(reader.ledgerSchema, 'partitions');
  const key = reader.byTable ? 'table_name' : 'processor';
  const keys = processors.map((node) => `(${quoteString(node.name)}, ${quoteString(ledgerKeyOf(node, reader.byTable))})`).join(', ');
  const sql = `SELECT f.processor, ${dayExpression('f.partition_date')}, arg_max(f.category, f.failed_at), CASE WHEN arg_max(f.category, f.failed_at) = 'CHECK_FAILED' THEN arg_max(f.message, f.failed_at) END FROM ${failures} AS f JOIN (VALUES ${keys}) AS n(processor, ledger_key) ON n.processor = f.processor LEFT JOIN ${partitions} AS p ON p.${key} = n.ledger_key AND p.partition_date = f.partition_date GROUP BY 1, 2 HAVING max(f.failed_at) > coalesce(max(p.built_at), TIMESTAMP '-infinity')`;
  const [names = [], days = [], categories = [], messages = []] = await connection.columns(sql);
  const result = new Map<string, Map<Day, string>>();
  const checkFailures = new Map<string, Map<Day, string>>();
  const put = (into: Map<string, Map<Day, string>>, i: number, value: string): void => {
    const name = names[i] as string;
    let byProcessor = into.get(name);
    if (!byProcessor) into.set(name, (byProcessor = new Map()));
    byProcessor.set(days[i] as number, value);
  };
  for (let i = 0; i < names.length; i++) {
    put(result, i, categories[i] as string);
    if (messages[i] !== null && messages[i] !== undefined) put(checkFailures, i, String(messages[i]));
  }
  return { failures: result, checkFailures };
}
