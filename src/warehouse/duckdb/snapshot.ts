/**
 * readSnapshot for DuckDB: one column-metadata query, one inventory query per group of up to
 * TABLES_PER_QUERY existing tables (a source's versions compared with the recorded ones in SQL), two
 * for the ledger and one for the latest failures. Every big result arrives as numeric columns in
 * typed arrays (snapshot-columns.ts) and the snapshot keeps them as Snapshot.columns, its Maps being
 * views of them: no object, Date or string per partition is built to plan.
 */
import type { Day } from '../../core/dates.js';
import { UserError } from '../../core/diagnostics.js';
import { tableName, type Pipeline, type PipelineNode } from '../../core/model.js';
import { InventoryView, LedgerView, type PartitionColumns } from '../../core/snapshot-columns.js';
import type { Snapshot, TableInventory } from '../../core/snapshot.js';
import { calendarDays, nodesToRead, readersBySource } from '../shared.js';
import type { SerialConnection } from './connection.js';
import { mergeColumns, ownerRanges, readInventoryGroup, readLedgerColumns, TABLES_PER_QUERY, type InventoryRequest, type InventorySlice, type LedgerColumns } from './snapshot-columns.js';
import { CATALOG, dayExpression, ledgerTable, qualifiedTable, quoteIdent, quoteString, stringList } from './sql.js';

export interface SnapshotReader {
  readonly main: SerialConnection;
  readonly ledgerSchema: string;
  /** Extra connections for running inventory queries side by side; may be empty. */
  readonly pool: readonly SerialConnection[];
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
  const processorNames = nodes.filter((node) => node.kind === 'processor').map((node) => node.name);
  const sourceNames = nodes.filter((node) => node.kind === 'source').map((node) => node.name);
  const pending = await sourcesWithoutLedgeredReaders(reader, nodes, ledgerExists('partitions'));
  const pendingVersions = pending.sources;
  queries += pending.queries;

  // Every remaining query is independent: run them side by side on the pool, the ledger first.
  const ledgerKeys = processorNames;
  let ledger: LedgerColumns = EMPTY_LEDGER;
  let failures = new Map<string, Map<Day, string>>();
  const inventories = new Map<string, InventorySlice>();
  const tasks: ((connection: SerialConnection) => Promise<void>)[] = [];
  if (processorNames.length > 0 && ledgerExists('partitions'))
    tasks.push(async (connection) => void (ledger = await readLedgerColumns(connection, ledgerTable(reader.ledgerSchema, 'partitions'), 'processor', ledgerKeys)));
  if (processorNames.length > 0 && ledgerExists('failures') && ledgerExists('partitions'))
    tasks.push(async (connection) => void (failures = await readFailures(connection, reader.ledgerSchema, processorNames)));
  const recordedTable = ledgerExists('source_versions') ? ledgerTable(reader.ledgerSchema, 'source_versions') : undefined;
  const requests: InventoryRequest[] = existing.map((node) => ({ node, kind: node.kind === 'processor' ? 'processor' : pendingVersions.has(node.name) ? 'pending' : 'hashed' }));
  for (let start = 0; start < requests.length; start += TABLES_PER_QUERY) {
    const group = requests.slice(start, start + TABLES_PER_QUERY);
    tasks.push(async (connection) => {
      const slices = await readInventoryGroup(connection, group, recordedTable);
      group.forEach((request, i) => inventories.set(request.node.name, slices[i] as InventorySlice));
    });
  }
  // The ledger is read in two queries (its fingerprints and run ids, then its rows as numbers).
  queries += tasks.length + (processorNames.length > 0 && ledgerExists('partitions') ? 1 : 0);
  let next = 0;
  await Promise.all(
    [reader.main, ...reader.pool].map(async (connection) => {
      for (let task = tasks[next++]; task; task = tasks[next++]) await task(connection);
    }),
  );

  // Every node column-wise; the Map forms are views of the columns (core/snapshot-columns.ts).
  const owners = ownerRanges(ledger, ledgerKeys.length);
  const ownerOf = new Map(ledgerKeys.map((name, i) => [name, owners[i] as [number, number]]));
  const tables = new Map<string, TableInventory>();
  const ledgerViews = new Map<string, LedgerView>();
  const columns = new Map<string, PartitionColumns>();
  for (const node of nodes) {
    const inventory = inventories.get(node.name);
    const [from, to] = ownerOf.get(node.name) ?? [0, 0];
    const nodeColumns = mergeColumns(inventory, ledger, from, to, node.kind === 'source' ? sourceVersionAt : undefined);
    columns.set(node.name, nodeColumns);
    tables.set(node.name, inventory ? { exists: true, partitions: new InventoryView(nodeColumns) } : { exists: false, partitions: new Map() });
    if (to > from) ledgerViews.set(node.name, new LedgerView(nodeColumns));
  }
  return { calendar: calendarDays(pipeline, tables), tables, ledger: ledgerViews, failures, pendingVersions, columns, stats: { queries } };
}

const EMPTY_LEDGER: LedgerColumns = { owner: new Float64Array(), days: new Float64Array(), builtAt: new Float64Array(), rows: new Float64Array(), code: new Float64Array(), run: new Float64Array(), codes: [], runs: [] };

/** A hashed source row's version (sourceVersion's format); '' for a source whose versions are pending. */
function sourceVersionAt(slice: InventorySlice, i: number): string {
  const high = slice.high[i] as number;
  return Number.isNaN(high) ? '' : sourceVersion(high, slice.low[i] as number, slice.rows[i] as number);
}

/**
 * Sources whose versions no plan over these nodes needs: on DuckDB a source partition's version only
 * decides whether a reader partition that dag built (a ledger entry) is stale, so while no processor
 * reading the source has one, hashing the source's content can wait for the run (recordSourceVersions),
 * where it overlaps the first batches instead of delaying the plan.
 */
async function sourcesWithoutLedgeredReaders(reader: SnapshotReader, nodes: readonly PipelineNode[], ledgerExists: boolean): Promise<{ sources: Set<string>; queries: number }> {
  const readersOf = readersBySource(nodes);
  const readers = [...new Set([...readersOf.values()].flat())];
  let ledgered = new Set<string>();
  const query = ledgerExists && readers.length > 0;
  if (query) {
    const [names = []] = await reader.main.columns(`SELECT DISTINCT processor FROM ${ledgerTable(reader.ledgerSchema, 'partitions')} WHERE processor IN (${stringList(readers)})`);
    ledgered = new Set(names.map(String));
  }
  const sources = new Set([...readersOf].filter(([, names]) => !names.some((name) => ledgered.has(name))).map(([source]) => source));
  return { sources, queries: query ? 1 : 0 };
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
 * a count. The 128-bit sum is split at 2^52 into two exact halves (snapshot-columns.ts reads them).
 */
const HASH_SPLIT = '4503599627370496';

/**
 * The same versions as text computed by DuckDB (sourceVersion's format: integers print alike in both),
 * for recording versions without reading them into JS first: columns day, version.
 */
export function sourceVersionsSql(node: PipelineNode): string {
  const column = `t.${quoteIdent(node.partitionColumn)}`;
  return `SELECT ${column} AS partition_date, (sum(hash(t)) // ${HASH_SPLIT})::VARCHAR || '.' || (sum(hash(t)) % ${HASH_SPLIT})::VARCHAR || ':' || count(*)::VARCHAR AS version FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL GROUP BY 1`;
}

/** Latest failure per processor partition, kept only when no ledger build came after it. */
async function readFailures(connection: SerialConnection, ledgerSchema: string, processors: readonly string[]): Promise<Map<string, Map<Day, string>>> {
  const failures = ledgerTable(ledgerSchema, 'failures');
  const partitions = ledgerTable(ledgerSchema, 'partitions');
  const sql = `SELECT f.processor, ${dayExpression('f.partition_date')}, arg_max(f.category, f.failed_at) FROM ${failures} AS f LEFT JOIN ${partitions} AS p ON p.processor = f.processor AND p.partition_date = f.partition_date WHERE f.processor IN (${stringList(processors)}) GROUP BY 1, 2 HAVING max(f.failed_at) > coalesce(max(p.built_at), TIMESTAMP '-infinity')`;
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
