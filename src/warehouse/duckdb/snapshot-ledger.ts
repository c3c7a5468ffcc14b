/**
 * The ledger reads of a DuckDB snapshot: the (name, table) groups, a table's entries, recorded source
 * versions and latest failures, each one query. Rows are matched to processors by the processor's
 * ledger key: its table (ledger version 2), or its name in a version-1 ledger read as such.
 */
import type { Day } from '../../core/dates.js';
import type { PipelineNode } from '../../core/model.js';
import type { LedgerEntry } from '../../core/snapshot.js';
import { ledgerKeyOf, type LedgerNames } from '../shared.js';
import type { SerialConnection } from './connection.js';
import { dayExpression, ledgerTable, msExpression, quoteString, stringList } from './sql.js';

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
  const [names = [], tables = [], counts = []] = await connection.columns(`SELECT processor, ${table}, count(*)::DOUBLE FROM ${ledgerTable(ledgerSchema, 'partitions')} GROUP BY ALL`);
  return names.map((name, i) => ({ processor: String(name), table: tables[i] === null ? undefined : String(tables[i]), partitions: Number(counts[i]) }));
}

/** Separators inside the ledger text blob; ids and fingerprints never contain these control characters. */
const RECORD = '\x1e';
const FIELD = '\x1f';

/** Ledger key (table, or name for a version-1 ledger) → processor name, for the given processors. */
function ownersByKey(processors: readonly PipelineNode[], byTable: boolean): Map<string, string> {
  return new Map(processors.map((node) => [ledgerKeyOf(node, byTable), node.name]));
}

/**
 * The ledger of the given processors, read by table (whatever name recorded a row) and returned by
 * processor name. Each table's entries come back as one string (one record per partition, fields
 * separated by control characters) and are parsed with indexOf/slice: the node client converts long
 * strings one native call at a time, which for a million-row ledger costs seconds.
 */
export async function readLedger(connection: SerialConnection, reader: LedgerReader, processors: readonly PipelineNode[]): Promise<Map<string, Map<Day, LedgerEntry>>> {
  const key = reader.byTable ? 'table_name' : 'processor';
  const owners = ownersByKey(processors, reader.byTable);
  const record = `concat(${dayExpression('partition_date')}, chr(31), epoch_ms(built_at), chr(31), "rows", chr(31), run_id, chr(31), code_fingerprint)`;
  const sql = `SELECT ${key}, string_agg(${record}, chr(30)) FROM ${ledgerTable(reader.ledgerSchema, 'partitions')} WHERE ${key} IN (${stringList([...owners.keys()])}) GROUP BY ${key}`;
  const [keys = [], blobs = []] = await connection.columns(sql);
  const ledger = new Map<string, Map<Day, LedgerEntry>>();
  for (let k = 0; k < keys.length; k++) {
    const owner = owners.get(keys[k] as string);
    if (owner !== undefined) ledger.set(owner, parseLedgerText(blobs[k] as string));
  }
  return ledger;
}

export function parseLedgerText(text: string): Map<Day, LedgerEntry> {
  const entries = new Map<Day, LedgerEntry>();
  // Run ids and code fingerprints repeat: reuse the previous string when equal, to share memory.
  let runId = '';
  let code = '';
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf(RECORD, pos);
    if (end < 0) end = text.length;
    const f1 = text.indexOf(FIELD, pos);
    const f2 = text.indexOf(FIELD, f1 + 1);
    const f3 = text.indexOf(FIELD, f2 + 1);
    const f4 = text.indexOf(FIELD, f3 + 1);
    const nextRun = text.slice(f3 + 1, f4);
    if (nextRun !== runId) runId = nextRun;
    const nextCode = text.slice(f4 + 1, end);
    if (nextCode !== code) code = nextCode;
    entries.set(Number(text.slice(pos, f1)), {
      runId,
      builtAt: Number(text.slice(f1 + 1, f2)),
      rows: Number(text.slice(f2 + 1, f3)),
      codeFingerprint: code,
    });
    pos = end + 1;
  }
  return entries;
}

/** The latest recorded version of each source partition and when it was recorded. */
export async function readRecordedVersions(connection: SerialConnection, ledgerSchema: string, sources: readonly string[]): Promise<Map<string, Map<Day, { version: string; at: number }>>> {
  const sql = `SELECT source, ${dayExpression('partition_date')}, arg_max(version, recorded_at), ${msExpression('max(recorded_at)')} FROM ${ledgerTable(ledgerSchema, 'source_versions')} WHERE source IN (${stringList(sources)}) GROUP BY 1, 2`;
  const [names = [], days = [], versions = [], ats = []] = await connection.columns(sql);
  const recorded = new Map<string, Map<Day, { version: string; at: number }>>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    let bySource = recorded.get(name);
    if (!bySource) recorded.set(name, (bySource = new Map()));
    bySource.set(days[i] as number, { version: versions[i] as string, at: ats[i] as number });
  }
  return recorded;
}

/**
 * Latest failure per processor partition, kept only when no ledger build came after it. Failures are
 * recorded by processor name; the builds they are compared with are found by the processor's ledger
 * key (its table), like its ledger entries.
 */
export async function readFailures(connection: SerialConnection, reader: LedgerReader, processors: readonly PipelineNode[]): Promise<Map<string, Map<Day, string>>> {
  const failures = ledgerTable(reader.ledgerSchema, 'failures');
  const partitions = ledgerTable(reader.ledgerSchema, 'partitions');
  const key = reader.byTable ? 'table_name' : 'processor';
  const keys = processors.map((node) => `(${quoteString(node.name)}, ${quoteString(ledgerKeyOf(node, reader.byTable))})`).join(', ');
  const sql = `SELECT f.processor, ${dayExpression('f.partition_date')}, arg_max(f.category, f.failed_at) FROM ${failures} AS f JOIN (VALUES ${keys}) AS n(processor, ledger_key) ON n.processor = f.processor LEFT JOIN ${partitions} AS p ON p.${key} = n.ledger_key AND p.partition_date = f.partition_date GROUP BY 1, 2 HAVING max(f.failed_at) > coalesce(max(p.built_at), TIMESTAMP '-infinity')`;
  const [names = [], days = [], categories = []] = await connection.columns(sql);
  const result = new Map<string, Map<Day, string>>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    let byProcessor = result.get(name);
    if (!byProcessor) result.set(name, (byProcessor = new Map()));
    byProcessor.set(days[i] as number, categories[i] as string);
  }
  return result;
}
