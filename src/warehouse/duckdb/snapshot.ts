/**
 * readSnapshot for DuckDB: one column-metadata query, one query for the ledger's (table, name)
 * groups, one inventory query per existing table, then one query each for the ledger, the recorded
 * source versions and the latest failures. Dates come back as day numbers computed by DuckDB and
 * results are read column-wise, so no Date objects or per-row strings are built on the JS side.
 * Ledger rows are matched to processors by table (ledger version 2), or by name in a version-1
 * ledger read as such.
 */
import type { Day } from '../../core/dates.js';
import { UserError } from '../../core/diagnostics.js';
import { tableName, type Pipeline, type PipelineNode } from '../../core/model.js';
import type { LedgerEntry, PartitionInfo, Snapshot, TableInventory } from '../../core/snapshot.js';
import { calendarDays, firstLine, ledgerIdentity, ledgerKeyOf, nodesToRead, readersBySource, type LedgerNames } from '../shared.js';
import type { SerialConnection } from './connection.js';
import { CATALOG, dayExpression, ledgerTable, msExpression, qualifiedTable, quoteIdent, quoteString, stringList } from './sql.js';

export interface SnapshotReader {
  readonly main: SerialConnection;
  readonly ledgerSchema: string;
  /** Extra connections for running inventory queries side by side; may be empty. */
  readonly pool: readonly SerialConnection[];
  /** The target's name, for error messages. */
  readonly targetName: string;
  /** False for a version-1 ledger (read-only plans): its rows carry no table, so match them by name. */
  readonly byTable: boolean;
}

/** One query of the snapshot and what it reads, so a failure can name it. */
interface Task {
  readonly reads: string;
  readonly run: (connection: SerialConnection) => Promise<void>;
}

/** What a warehouse that does not exist yet holds: nothing. */
export function emptySnapshot(pipeline: Pipeline, names: readonly string[]): Snapshot {
  const tables = new Map<string, TableInventory>();
  for (const node of nodesToRead(pipeline, names)) tables.set(node.name, { exists: false, partitions: new Map() });
  return { calendar: pipeline.calendar === undefined ? undefined : [], tables, ledger: new Map(), failures: new Map(), stats: { queries: 0 } };
}

export async function readDuckdbSnapshot(reader: SnapshotReader, pipeline: Pipeline, names: readonly string[]): Promise<Snapshot> {
  const nodes = nodesToRead(pipeline, names);
  let queries = 0;
  const schemas = new Set(nodes.map((node) => node.table.schema));
  schemas.add(reader.ledgerSchema);
  const columnRows = await reader.main.columns(
    `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name IN (${stringList([...schemas])})`,
  );
  queries++;
  const columnTypes = columnTypesByTable(columnRows);
  const ledgerExists = (name: string): boolean => columnTypes.has(`${reader.ledgerSchema}.${name}`);

  const existing = nodes.filter((node) => checkPartitionColumn(node, columnTypes.get(tableName(node.table))));
  const processors = nodes.filter((node) => node.kind === 'processor');
  const sourceNames = nodes.filter((node) => node.kind === 'source').map((node) => node.name);
  const partitionsTable = `the ledger table ${reader.ledgerSchema}.partitions`;
  let groups: LedgerNames[] = [];
  if (ledgerExists('partitions')) {
    groups = await readOrFail(partitionsTable, reader, () => readLedgerNames(reader.main, reader.ledgerSchema, reader.byTable));
    queries++;
  }
  const pendingVersions = sourcesWithoutLedgeredReaders(nodes, groups, reader.byTable);

  // Every remaining query is independent: run them side by side on the pool, the slowest (ledger) first.
  const inventories = new Map<string, InventoryColumns>();
  let ledger = new Map<string, Map<Day, LedgerEntry>>();
  let recorded = new Map<string, Map<Day, { version: string; at: number }>>();
  let failures = new Map<string, Map<Day, string>>();
  const tasks: Task[] = [];
  if (processors.length > 0 && ledgerExists('partitions'))
    tasks.push({ reads: partitionsTable, run: async (connection) => void (ledger = await readLedger(connection, reader, processors)) });
  if (sourceNames.length > 0 && ledgerExists('source_versions'))
    tasks.push({
      reads: `the ledger table ${reader.ledgerSchema}.source_versions`,
      run: async (connection) => void (recorded = await readRecordedVersions(connection, reader.ledgerSchema, sourceNames)),
    });
  if (processors.length > 0 && ledgerExists('failures') && ledgerExists('partitions'))
    tasks.push({ reads: `the ledger table ${reader.ledgerSchema}.failures`, run: async (connection) => void (failures = await readFailures(connection, reader, processors)) });
  for (const node of existing) {
    const withVersions = node.kind === 'source' && !pendingVersions.has(node.name);
    tasks.push({ reads: `table ${tableName(node.table)} (${node.kind} ${node.name})`, run: async (connection) => void inventories.set(node.name, await readInventory(connection, node, withVersions)) });
  }
  queries += tasks.length;
  await runSideBySide(reader, tasks);

  const tables = new Map<string, TableInventory>();
  for (const node of nodes) {
    const inventory = inventories.get(node.name);
    if (!inventory) {
      tables.set(node.name, { exists: false, partitions: new Map() });
      continue;
    }
    const partitions = new Map<Day, PartitionInfo>();
    const { days, counts, low, high } = inventory;
    if (node.kind === 'source') {
      const nodeRecorded = recorded.get(node.name);
      for (let i = 0; i < days.length; i++) {
        const day = days[i] as number;
        const rows = counts[i] as number;
        const version = low && high ? sourceVersion(high[i] as number, low[i] as number, rows) : '';
        const seen = nodeRecorded?.get(day);
        partitions.set(day, { rows, version, changedAt: seen && seen.version === version ? seen.at : Infinity });
      }
    } else {
      // A processor partition's version is its ledger entry (Snapshot.ledger); the run id here is only a
      // label. Identical infos are shared: a 730k-partition warehouse holds a handful of distinct ones,
      // and not allocating the rest saves a third of a large plan's time in garbage collection.
      const nodeLedger = ledger.get(node.name);
      const shared = new Map<string, PartitionInfo>();
      for (let i = 0; i < days.length; i++) {
        const day = days[i] as number;
        const rows = counts[i] as number;
        const version = nodeLedger?.get(day)?.runId ?? '';
        const key = `${rows}\u0000${version}`;
        let info = shared.get(key);
        if (!info) shared.set(key, (info = { rows, version, changedAt: undefined }));
        partitions.set(day, info);
      }
    }
    tables.set(node.name, { exists: true, partitions });
  }
  const identity = ledgerIdentity(pipeline, groups, reader.byTable);
  return {
    calendar: calendarDays(pipeline, tables),
    tables,
    ledger,
    failures,
    pendingVersions,
    ...identity,
    ...(reader.byTable ? {} : { olderLedgerVersion: 1 }),
    stats: { queries },
  };
}

/**
 * Runs the tasks on the connections, one at a time each. A failing task stops the others from taking
 * new work and interrupts the pool's running queries, and EVERY running task is awaited before the
 * error is thrown: the caller closes the pool next, and closing a connection under a running query
 * hangs or crashes the process. The error names what the failed query read.
 */
async function runSideBySide(reader: SnapshotReader, tasks: readonly Task[]): Promise<void> {
  let next = 0;
  let failed: { task: Task; error: unknown } | undefined;
  const connections = [reader.main, ...reader.pool];
  await Promise.all(
    connections.map(async (connection) => {
      for (let task = tasks[next++]; task && !failed; task = tasks[next++]) {
        try {
          await task.run(connection);
        } catch (error) {
          if (failed) continue; // interrupted because another task failed first
          failed = { task, error };
          // Pool connections are closed right after this; the main one is left alone so no
          // interrupt can linger on it.
          for (const other of reader.pool) if (other !== connection) other.interrupt();
        }
      }
    }),
  );
  if (failed) throw snapshotError(reader, failed.task.reads, failed.error);
}

/** Runs one query on main, turning its failure into the same error as a pool task's. */
async function readOrFail<T>(reads: string, reader: SnapshotReader, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw snapshotError(reader, reads, error);
  }
}

function snapshotError(reader: SnapshotReader, reads: string, error: unknown): UserError {
  return new UserError(
    `cannot read ${reads} in target '${reader.targetName}': ${firstLine(error)}`,
    2,
    reads.startsWith('the ledger')
      ? 'the ledger is damaged: restore it from a backup, or drop its schema to start over (dag then takes every existing partition as built outside dag)'
      : 'fix the table or view in the DuckDB file (a view over a file that was moved or deleted?), or its entry in pipeline.yaml',
  );
}

/**
 * The ledger's rows grouped by the processor name and table they were recorded under, with their
 * counts: which processors have ledger entries at all, and which rows belong to a former name or to
 * no processor of the pipeline (Snapshot.formerNames / orphanedLedger). One scan of the ledger.
 */
async function readLedgerNames(connection: SerialConnection, ledgerSchema: string, byTable: boolean): Promise<LedgerNames[]> {
  const table = byTable ? 'table_name' : 'NULL::VARCHAR';
  const [names = [], tables = [], counts = []] = await connection.columns(`SELECT processor, ${table}, count(*)::DOUBLE FROM ${ledgerTable(ledgerSchema, 'partitions')} GROUP BY ALL`);
  return names.map((name, i) => ({ processor: String(name), table: tables[i] === null ? undefined : String(tables[i]), partitions: Number(counts[i]) }));
}

/**
 * Sources whose versions no plan over these nodes needs: on DuckDB a source partition's version only
 * decides whether a reader partition that dag built (a ledger entry) is stale, so while no processor
 * reading the source has one, hashing the source's content can wait for the run (recordSourceVersions),
 * where it overlaps the first batches instead of delaying the plan.
 */
function sourcesWithoutLedgeredReaders(nodes: readonly PipelineNode[], groups: readonly LedgerNames[], byTable: boolean): Set<string> {
  const ledgered = new Set(groups.map((group) => (byTable ? (group.table ?? '') : group.processor)));
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const hasEntries = (name: string): boolean => {
    const node = byName.get(name);
    return node !== undefined && ledgered.has(ledgerKeyOf(node, byTable));
  };
  return new Set([...readersBySource(nodes)].filter(([, readers]) => !readers.some(hasEntries)).map(([source]) => source));
}

/** A source partition's version: its content hash (two exact halves) and row count. */
export function sourceVersion(high: number, low: number, rows: number): string {
  return `${high}.${low}:${rows}`;
}

/** `schema.table` → column name → data type. */
function columnTypesByTable(columns: unknown[][]): Map<string, Map<string, string>> {
  const [schemaNames = [], tableNames = [], columnNames = [], dataTypes = []] = columns;
  const tables = new Map<string, Map<string, string>>();
  for (let i = 0; i < schemaNames.length; i++) {
    const key = `${String(schemaNames[i])}.${String(tableNames[i])}`;
    let table = tables.get(key);
    if (!table) tables.set(key, (table = new Map()));
    table.set(String(columnNames[i]), String(dataTypes[i]));
  }
  return tables;
}

/** True when the table exists with a usable partition column; throws a UserError when it is unusable. */
function checkPartitionColumn(node: PipelineNode, columns: Map<string, string> | undefined): boolean {
  if (!columns) return false;
  const type = columns.get(node.partitionColumn);
  const where = `table ${tableName(node.table)} (${node.kind} ${node.name})`;
  if (type === undefined)
    throw new UserError(
      `${where} has no partition column '${node.partitionColumn}'; it has: ${[...columns.keys()].join(', ')}`,
      2,
      'set partition_column in pipeline.yaml to the table\'s DATE column',
    );
  if (type !== 'DATE')
    throw new UserError(
      `${where}: partition column '${node.partitionColumn}' is ${type}, not DATE`,
      2,
      `store it as a DATE (e.g. ALTER TABLE ... ALTER ${node.partitionColumn} TYPE DATE) or point partition_column at a DATE column`,
    );
  return true;
}

/**
 * Sources get a content hash per partition (sum of row hashes: order-free, duplicates count); processors
 * a count. The 128-bit sum is split at 2^52 into two exact halves.
 */
const HASH_SPLIT = '4503599627370496';

export function inventorySql(node: PipelineNode, withVersions: boolean): string {
  const column = `t.${quoteIdent(node.partitionColumn)}`;
  // The halves come back as doubles: numbers convert far faster than strings.
  const hash = withVersions ? `, (sum(hash(t)) % ${HASH_SPLIT})::DOUBLE, (sum(hash(t)) // ${HASH_SPLIT})::DOUBLE` : '';
  return `SELECT ${dayExpression(column)}, count(*)::DOUBLE${hash} FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL GROUP BY 1`;
}

/**
 * The same versions as text computed by DuckDB (sourceVersion's format: integers print alike in both),
 * for recording versions without reading them into JS first: columns day, version.
 */
export function sourceVersionsSql(node: PipelineNode): string {
  const column = `t.${quoteIdent(node.partitionColumn)}`;
  return `SELECT ${column} AS partition_date, (sum(hash(t)) // ${HASH_SPLIT})::VARCHAR || '.' || (sum(hash(t)) % ${HASH_SPLIT})::VARCHAR || ':' || count(*)::VARCHAR AS version FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL GROUP BY 1`;
}

/** An inventory query's result, column-wise (day, row count, and with versions the two hash halves). */
interface InventoryColumns {
  readonly days: readonly unknown[];
  readonly counts: readonly unknown[];
  readonly low: readonly unknown[] | undefined;
  readonly high: readonly unknown[] | undefined;
}

async function readInventory(connection: SerialConnection, node: PipelineNode, withVersions: boolean): Promise<InventoryColumns> {
  const [days = [], counts = [], low, high] = await connection.columns(inventorySql(node, withVersions));
  return { days, counts, low, high };
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
async function readLedger(connection: SerialConnection, reader: SnapshotReader, processors: readonly PipelineNode[]): Promise<Map<string, Map<Day, LedgerEntry>>> {
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
async function readRecordedVersions(connection: SerialConnection, ledgerSchema: string, sources: readonly string[]): Promise<Map<string, Map<Day, { version: string; at: number }>>> {
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
async function readFailures(connection: SerialConnection, reader: SnapshotReader, processors: readonly PipelineNode[]): Promise<Map<string, Map<Day, string>>> {
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
