/**
 * readSnapshot for DuckDB: one column-metadata query, one query for the ledger's (table, name)
 * groups, one inventory query per existing table, then one query each for the ledger, the recorded
 * source versions and the latest failures. Dates come back as day numbers computed by DuckDB and
 * results are read column-wise, so no Date objects or per-row strings are built on the JS side.
 * Ledger rows are matched to processors by table (ledger version 2), or by name in a version-1
 * ledger read as such (the ledger reads are in snapshot-ledger.ts).
 */
import type { Day } from '../../core/dates.js';
import { UserError } from '../../core/diagnostics.js';
import { tableName, type Pipeline, type PipelineNode } from '../../core/model.js';
import type { LedgerEntry, PartitionInfo, Snapshot, TableInventory } from '../../core/snapshot.js';
import { calendarDays, firstLine, ledgerIdentity, ledgerKeyOf, nodesToRead, readersBySource, type LedgerNames } from '../shared.js';
import type { SerialConnection } from './connection.js';
import { readFailures, readLedger, readLedgerNames, readRecordedVersions, type LedgerReader } from './snapshot-ledger.js';
import { CATALOG, dayExpression, qualifiedTable, quoteIdent, quoteString, stringList } from './sql.js';

export interface SnapshotReader extends LedgerReader {
  readonly main: SerialConnection;
  /** Extra connections for running inventory queries side by side; may be empty. */
  readonly pool: readonly SerialConnection[];
  /** The target's name, for error messages. */
  readonly targetName: string;
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
