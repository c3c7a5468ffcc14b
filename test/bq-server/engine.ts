/**
 * Executes BigQuery-dialect scripts on an in-memory DuckDB, keeping the metadata BigQuery would:
 * which column each table is partitioned on, and per partition its row count and last_modified_time
 * (moved when a write changes the partition's content, committed or rolled back with the data).
 */
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import {
  BigqueryLikeError,
  splitScript,
  substituteParameters,
  translateDdl,
  translateNames,
  translateUnnest,
  type NameParts,
  type RestParameter,
} from './translate.js';
import { alterTable, BQ_TYPE_MACRO, checkInsert, describeQuery, isPermanentDdl, legacyName } from './strict.js';
import { alterOptionsTarget, expirationMs, recordTableOptions, TABLE_OPTIONS_SETUP, tableOptionsOf } from './table-options.js';
import { isMutation, TransactionConflicts, type OpenTransaction } from './conflicts.js';
import { forgetTable, PARTITION_VIEW_SETUP, recordTableWrite, withUnpartitionedRows } from './partition-view.js';
import { partitionIdSql } from './partitioning.js';
import { isDml, JobWrites, returningPartitions } from './writes.js';
import { checkTimestampCoercion, queryPart } from './coercion.js';

export interface Field {
  readonly name: string;
  readonly type: string;
  readonly mode: 'NULLABLE';
}

export interface QueryResult {
  readonly fields: readonly Field[];
  /** Values as the REST API carries them: strings or null. */
  readonly rows: readonly (string | null)[][];
  readonly statementType: string;
}

/** Hooks the server uses to inject faults and cancel between statements. */
export interface ScriptControl {
  /** Called before each statement (0-based); throw to fail the script there. */
  readonly beforeStatement?: (index: number, statement: string) => Promise<void> | void;
  readonly isCancelled?: () => boolean;
  /** Set while a statement runs, so a cancel can interrupt it. */
  onConnection?: (connection: DuckDBConnection | undefined) => void;
}

const SETUP = `
CREATE SCHEMA IF NOT EXISTS __bq;
CREATE TABLE IF NOT EXISTS __bq.partitioning (table_schema VARCHAR, table_name VARCHAR, partition_column VARCHAR, granularity VARCHAR);
CREATE TABLE IF NOT EXISTS __bq.partition_state (table_schema VARCHAR, table_name VARCHAR, partition_id VARCHAR,
  total_rows BIGINT, content_hash VARCHAR, last_modified_time TIMESTAMP);
CREATE TYPE FLOAT64 AS DOUBLE;
CREATE TYPE BIGNUMERIC AS DECIMAL(38,18);
CREATE TYPE BYTES AS BLOB;
${BQ_TYPE_MACRO};
CREATE MACRO timestamp_millis(x) AS epoch_ms(x);
CREATE MACRO unix_millis(x) AS epoch_ms(x);
CREATE MACRO to_json_string(x) AS to_json(x)::VARCHAR;
CREATE VIEW __bq.tables AS
  SELECT 'test-project' AS table_catalog, t.table_schema, t.table_name, 'BASE TABLE' AS table_type,
    'CREATE TABLE \`test-project.' || t.table_schema || '.' || t.table_name || '\`' || CASE
      WHEN p.partition_column IS NULL THEN ''
      WHEN p.granularity = 'DAY' THEN chr(10) || 'PARTITION BY ' || p.partition_column
      ELSE chr(10) || 'PARTITION BY DATE_TRUNC(' || p.partition_column || ', ' || p.granularity || ')' END || ';' AS ddl
  FROM information_schema.tables t LEFT JOIN __bq.partitioning p USING (table_schema, table_name)
  WHERE t.table_catalog = 'memory' AND t.table_schema NOT IN ('__bq', 'main');
CREATE VIEW __bq.columns AS
  SELECT 'test-project' AS table_catalog, c.table_schema, c.table_name, c.column_name, c.ordinal_position,
    CASE WHEN p.partition_column = c.column_name THEN 'YES' ELSE 'NO' END AS is_partitioning_column,
    bq_type(c.data_type) AS data_type
  FROM information_schema.columns c LEFT JOIN __bq.partitioning p USING (table_schema, table_name)
  WHERE c.table_catalog = 'memory' AND c.table_schema NOT IN ('__bq', 'main');
`;

const WRITE_TARGET =
  /^\s*(?:INSERT\s+(?:INTO\s+)?|DELETE\s+(?:FROM\s+)?|UPDATE\s+|MERGE\s+(?:INTO\s+)?|TRUNCATE\s+TABLE\s+|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)(`[^`]+`(?:\s*\.\s*`[^`]+`)*)/i;

/** What runStatement needs from the script it is part of. */
interface ScriptState {
  readonly writes: JobWrites;
  transaction: OpenTransaction | undefined;
  /** Metadata updates of the transaction's INSERTs, applied after COMMIT (Engine.serially). */
  readonly afterCommit: (() => Promise<void>)[];
}

export class Engine {
  private clock = 0;
  private readonly conflicts = new TransactionConflicts();
  /**
   * Metadata writes (partition state, table modification times) outside a mutating transaction, one at
   * a time. Made inside the writing transaction, two concurrent INSERT-only transactions (dag's ledger
   * rows) would both replace the same __bq row and conflict in DuckDB, which BigQuery does not do
   * (INSERTs never conflict): a transaction's INSERTs update the metadata after its COMMIT instead.
   */
  private metadata: Promise<void> = Promise.resolve();

  private serially(update: () => Promise<void>): Promise<void> {
    const next = this.metadata.then(update);
    this.metadata = next.catch(() => undefined);
    return next;
  }

  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(): Promise<Engine> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    for (const statement of splitScript(SETUP + TABLE_OPTIONS_SETUP + PARTITION_VIEW_SETUP)) await connection.run(statement);
    connection.closeSync();
    return new Engine(instance);
  }

  /** Milliseconds, strictly increasing, so two writes never share a modification time. */
  now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  /** Runs a script on its own connection (temp tables and transactions live as long as the script). */
  async runScript(script: string, parameters: readonly RestParameter[], control: ScriptControl = {}): Promise<QueryResult> {
    const connection = await this.instance.connect();
    let inTransaction = false;
    const state: ScriptState = { writes: new JobWrites(), transaction: undefined, afterCommit: [] };
    let last: QueryResult = { fields: [], rows: [], statementType: 'SCRIPT' };
    try {
      const statements = splitScript(script);
      for (const [index, statement] of statements.entries()) {
        if (control.isCancelled?.()) throw new BigqueryLikeError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
        await control.beforeStatement?.(index, statement);
        const upper = statement.toUpperCase().replace(/\s+/g, ' ');
        if (upper === 'BEGIN TRANSACTION' || upper === 'BEGIN') {
          await connection.run('BEGIN TRANSACTION');
          inTransaction = true;
          state.transaction = this.conflicts.begin();
          continue;
        }
        if (upper === 'COMMIT TRANSACTION' || upper === 'COMMIT') {
          if (state.transaction) this.conflicts.commit(state.transaction, 'test-project');
          await connection.run('COMMIT');
          inTransaction = false;
          state.transaction = undefined;
          for (const update of state.afterCommit.splice(0)) await this.serially(update);
          continue;
        }
        if (upper === 'ROLLBACK TRANSACTION' || upper === 'ROLLBACK') {
          await connection.run('ROLLBACK');
          inTransaction = false;
          state.transaction = undefined;
          state.afterCommit.length = 0;
          continue;
        }
        if (inTransaction && isPermanentDdl(statement))
          throw new BigqueryLikeError(
            400,
            'invalidQuery',
            'Transactions cannot use DDL statements that affect permanent entities (only temporary tables and functions)',
          );
        control.onConnection?.(connection);
        last = await this.runStatement(connection, statement, parameters, state);
        control.onConnection?.(undefined);
      }
      if (inTransaction) throw new BigqueryLikeError(400, 'invalidQuery', 'Transaction was not committed or rolled back by the end of the script');
      return last;
    } catch (error) {
      // BigQuery rolls back an open transaction when a script fails.
      if (inTransaction) await connection.run('ROLLBACK').catch(() => undefined);
      throw toBigqueryError(error);
    } finally {
      control.onConnection?.(undefined);
      connection.closeSync();
    }
  }

  private async runStatement(connection: DuckDBConnection, statement: string, parameters: readonly RestParameter[], state: ScriptState): Promise<QueryResult> {
    const writeTarget = WRITE_TARGET.exec(statement)?.[1];
    const assertion = /^ASSERT\s+([\s\S]+?)(?:\s+AS\s+('(?:[^']|'')*'))?\s*$/i.exec(statement);
    let sql = substituteParameters(statement, parameters);
    let partitionColumn: string | undefined;
    let granularity = 'DAY';
    // `project.dataset` names a dataset here, not a table: keep only the dataset.
    if (/^\s*(CREATE|DROP)\s+SCHEMA\b/i.test(sql)) return this.schemaStatement(connection, sql);
    const altered = alterOptionsTarget(sql);
    if (altered) {
      await recordTableOptions(connection, altered.dataset, altered.table, tableOptionsOf(sql), false);
      return { fields: [], rows: [], statementType: 'ALTER_TABLE' };
    }
    const options = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\b/i.test(sql) ? tableOptionsOf(sql) : undefined;
    if (/^\s*CREATE\s/i.test(sql)) {
      const ddl = translateDdl(sql);
      sql = ddl.sql;
      partitionColumn = ddl.partitionColumn;
      granularity = ddl.partitioning?.granularity ?? 'DAY';
    }
    sql = translateUnnest(await withUnpartitionedRows(connection, translateNames(sql))).replace(
      /\bCURRENT_TIMESTAMP\s*\(\s*\)/gi,
      'CAST(current_timestamp AS TIMESTAMP)',
    );
    if (assertion) {
      const condition = translateUnnest(translateNames(substituteParameters(assertion[1] ?? 'TRUE', parameters)));
      const reader = await connection.runAndReadAll(`SELECT (${condition}) AS ok`);
      if (reader.getRows()[0]?.[0] !== true) {
        const text = assertion[2] ? assertion[2].slice(1, -1).replace(/''/g, "'") : 'Assertion failed';
        throw new BigqueryLikeError(400, 'invalidQuery', text);
      }
      return { fields: [], rows: [], statementType: 'ASSERT' };
    }
    if (/^\s*ALTER\s+TABLE\b/i.test(sql)) return this.alterStatement(connection, sql);
    if (/^\s*INSERT\b/i.test(sql)) await checkInsert(connection, sql);
    const query = queryPart(sql);
    if (query !== undefined) await checkTimestampCoercion(connection, query);
    let dropped: NameParts | undefined;
    if (/^\s*DROP\s+TABLE\b/i.test(statement)) translateNames(statement, (name) => (dropped ??= name));
    let target: NameParts | undefined;
    if (writeTarget) translateNames(writeTarget, (name) => (target = name));
    const dml = target?.dataset !== undefined && isDml(statement);
    const dmlTarget = dml ? await this.partitioningOf(connection, target?.dataset ?? '', target?.table ?? '') : undefined;
    // A DML statement outside a transaction is all-or-nothing too (a job over the partition limit writes nothing).
    const implicit = dml && state.transaction === undefined;
    if (implicit) await connection.run('BEGIN TRANSACTION');
    try {
      return await this.writeStatement(connection, statement, sql, state, { dml, dmlTarget, dropped, target, partitionColumn, granularity, options }).then(
        async (result) => {
          if (implicit) {
            await connection.run('COMMIT');
            for (const update of state.afterCommit.splice(0)) await this.serially(update);
          }
          return result;
        },
      );
    } catch (error) {
      if (implicit) {
        await connection.run('ROLLBACK').catch(() => undefined);
        state.afterCommit.length = 0;
      }
      throw error;
    }
  }

  /** The rest of runStatement: runs the statement and keeps the metadata (partitioning, partitions, options) in step. */
  private async writeStatement(
    connection: DuckDBConnection,
    statement: string,
    sql: string,
    state: ScriptState,
    facts: {
      dml: boolean;
      dmlTarget: { column: string; granularity: string } | undefined;
      dropped: NameParts | undefined;
      target: NameParts | undefined;
      partitionColumn: string | undefined;
      granularity: string;
      options: ReturnType<typeof tableOptionsOf> | undefined;
    },
  ): Promise<QueryResult> {
    const { dml, dmlTarget, dropped, target, partitionColumn, granularity, options } = facts;
    const reader = await connection.runAndReadAll(dml ? returningPartitions(sql, dmlTarget && partitionIdSql(dmlTarget.column, dmlTarget.granularity)) : sql);
    if (dropped?.dataset) {
      // The table is gone: its partitioning and partitions go from the metadata too.
      await this.refreshPartitions(connection, dropped.dataset, dropped.table);
      await forgetTable(connection, dropped.dataset, dropped.table);
      return { fields: [], rows: [], statementType: 'DROP_TABLE' };
    }
    let touched: Set<string> | undefined;
    // An INSERT (in a transaction, or in its own implicit one) updates the metadata after COMMIT (Engine.metadata says why).
    const deferred = dml && !isMutation(statement);
    const metadata = (update: () => Promise<void>): Promise<void> => {
      if (!deferred) return update();
      state.afterCommit.push(update);
      return Promise.resolve();
    };
    if (dml && target?.dataset) {
      const name = `${target.dataset}.${target.table}`;
      if (state.transaction && isMutation(statement)) state.transaction.mutated.add(name);
      const written = reader.getRows();
      if (dmlTarget) {
        touched = new Set(written.map((r) => String(r[0])));
        state.writes.add(name, touched);
      } else if (written.length > 0) {
        state.writes.add(name, ['']);
        const at = this.now();
        await metadata(() => recordTableWrite(connection, target.dataset ?? '', target.table, at));
      }
    } else if (target?.dataset && partitionColumn === undefined && /^\s*CREATE\b/i.test(statement)) {
      await recordTableWrite(connection, target.dataset, target.table, this.now());
    }
    if (target?.dataset && partitionColumn) {
      await connection.run(
        `DELETE FROM __bq.partitioning WHERE table_schema = ${q(target.dataset)} AND table_name = ${q(target.table)};
         INSERT INTO __bq.partitioning VALUES (${q(target.dataset)}, ${q(target.table)}, ${q(partitionColumn)}, ${q(granularity)})`,
      );
    }
    // CREATE TABLE IF NOT EXISTS leaves an existing table (and its options) alone.
    if (target?.dataset && options) await recordTableOptions(connection, target.dataset, target.table, options, !/\bIF\s+NOT\s+EXISTS\b/i.test(statement));
    if (target?.dataset) {
      const dataset = target.dataset;
      const written = touched;
      await metadata(() => this.refreshPartitions(connection, dataset, target.table, false, written));
      return { fields: [], rows: [], statementType: /^\s*(\w+)/.exec(statement)?.[1]?.toUpperCase() ?? 'DML' };
    }
    if (!/^\s*(SELECT|WITH|\()/i.test(statement)) return { fields: [], rows: [], statementType: 'OTHER' };
    const types = reader.columnTypes();
    const fields = reader.columnNames().map((name, i) => ({ name, type: bigqueryType(types[i]?.typeId), mode: 'NULLABLE' as const }));
    const rows = reader.getRows().map((row) => row.map((value, i) => restValue(value, types[i]?.typeId)));
    return { fields, rows, statementType: 'SELECT' };
  }

  /** ALTER TABLE as BigQuery allows it (strict.ts); a schema change moves no partition's modification time. */
  private async alterStatement(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
    const named = /^\s*ALTER\s+TABLE\s+"([^"]+)"\."([^"]+)"/i.exec(sql);
    const partitioning = named
      ? await connection.runAndReadAll(
          `SELECT partition_column FROM __bq.partitioning WHERE table_schema = ${q(named[1] ?? '')} AND table_name = ${q(named[2] ?? '')}`,
        )
      : undefined;
    const column = partitioning?.getRows()[0]?.[0];
    const target = await alterTable(connection, sql, typeof column === 'string' ? column : undefined);
    await this.refreshPartitions(connection, target.dataset, target.table, true);
    return { fields: [], rows: [], statementType: 'ALTER_TABLE' };
  }

  private async schemaStatement(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
    const duck = sql.replace(/`([^`]+)`/, (_w, name: string) => `"${name.split('.').pop() ?? name}"`).replace(/\bOPTIONS\s*\([^)]*\)/i, '');
    await connection.run(duck);
    return { fields: [], rows: [], statementType: 'SCHEMA' };
  }

  /** The partitioning column and granularity of a table (undefined: unpartitioned or absent). */
  private async partitioningOf(connection: DuckDBConnection, dataset: string, table: string): Promise<{ column: string; granularity: string } | undefined> {
    const reader = await connection.runAndReadAll(
      `SELECT partition_column, granularity FROM __bq.partitioning WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)}`,
    );
    const row = reader.getRows()[0];
    return typeof row?.[0] === 'string' ? { column: row[0], granularity: String(row[1] ?? 'DAY') } : undefined;
  }

  /**
   * Recomputes a table's partitions; those a DML statement wrote (`touched`) or whose content changed
   * get a new last_modified_time, unless `keepTimes` (a schema change: the partitions' data is the
   * same, their rows' hash is not). Only the state rows of changed partitions are rewritten, so two
   * transactions writing different partitions of one table do not collide in DuckDB (conflicts.ts
   * judges them at COMMIT, by table, as BigQuery does).
   */
  private async refreshPartitions(
    connection: DuckDBConnection,
    dataset: string,
    table: string,
    keepTimes = false,
    touched?: ReadonlySet<string>,
  ): Promise<void> {
    const exists = await connection.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)}`,
    );
    const where = `table_schema = ${q(dataset)} AND table_name = ${q(table)}`;
    if (Number(exists.getRows()[0]?.[0]) === 0) {
      await connection.run(`DELETE FROM __bq.partition_state WHERE ${where}; DELETE FROM __bq.partitioning WHERE ${where}`);
      return;
    }
    const partitioning = await this.partitioningOf(connection, dataset, table);
    // Unpartitioned tables (dag's ledger) keep no state rows: partition-view.ts lists their NULL row.
    if (!partitioning) return;
    const current = await connection.runAndReadAll(
      `SELECT ${partitionIdSql(partitioning.column, partitioning.granularity)} AS id, count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM "${dataset}"."${table}" t GROUP BY 1`,
    );
    const before = await connection.runAndReadAll(`SELECT partition_id, content_hash, last_modified_time FROM __bq.partition_state WHERE ${where}`);
    const previous = new Map(before.getRows().map((r) => [String(r[0]), { hash: String(r[1]), modified: String(r[2]) }]));
    const now = this.now();
    const stale = new Set(previous.keys());
    const values: string[] = [];
    for (const r of current.getRows()) {
      const id = String(r[0]);
      const old = previous.get(id);
      if (old?.hash === String(r[2]) && !(touched?.has(id) ?? false)) {
        stale.delete(id);
        continue;
      }
      const modified = old !== undefined && keepTimes ? `TIMESTAMP '${old.modified}'` : `epoch_ms(${now})`;
      values.push(`(${q(dataset)}, ${q(table)}, ${q(id)}, ${String(r[1])}, ${q(String(r[2]))}, ${modified})`);
    }
    // `stale` now holds the partitions that changed or are gone: their state rows are replaced.
    if (stale.size > 0) await connection.run(`DELETE FROM __bq.partition_state WHERE ${where} AND partition_id IN (${[...stale].map(q).join(', ')})`);
    if (values.length > 0) await connection.run(`INSERT INTO __bq.partition_state VALUES ${values.join(', ')}`);
  }

  /**
   * tabledata.insertAll: the rows go into the table (queryable at once) and into the streaming buffer,
   * listed as `__UNPARTITIONED__` until flushStreamingBuffer (partition-view.ts).
   */
  async streamRows(dataset: string, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    const connection = await this.instance.connect();
    try {
      const partitioning = await this.partitioningOf(connection, dataset, table);
      const columns = (
        await connection.runAndReadAll(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)} ORDER BY ordinal_position`,
        )
      )
        .getRows()
        .map((r) => String(r[0]));
      if (columns.length === 0) throw new BigqueryLikeError(404, 'notFound', `Not found: Table test-project:${dataset}.${table}`);
      const literal = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'number' || typeof v === 'boolean' ? String(v) : q(String(v)));
      const values = rows.map((row) => `(${columns.map((c) => literal(row[c])).join(', ')})`);
      if (values.length === 0) return;
      const written = await connection.runAndReadAll(
        `INSERT INTO "${dataset}"."${table}" VALUES ${values.join(', ')} RETURNING ${partitioning ? partitionIdSql(partitioning.column, partitioning.granularity) : 'NULL'}`,
      );
      // Only partitioned tables are modelled with a buffer (an unpartitioned one lists its NULL row).
      if (!partitioning) return recordTableWrite(connection, dataset, table, this.now());
      const counts = new Map<string, number>();
      for (const r of written.getRows()) counts.set(String(r[0]), (counts.get(String(r[0])) ?? 0) + 1);
      const now = this.now();
      for (const [id, n] of counts)
        await connection.run(`INSERT INTO __bq.stream_buffer VALUES (${q(dataset)}, ${q(table)}, ${q(id)}, ${n}, epoch_ms(${now}))`);
      await this.refreshPartitions(connection, dataset, table, true);
    } catch (error) {
      throw toBigqueryError(error);
    } finally {
      connection.closeSync();
    }
  }

  /** BigQuery extracting the buffered rows into their partitions: those partitions are written now. */
  async flushStreamingBuffer(): Promise<void> {
    const connection = await this.instance.connect();
    try {
      await connection.run(
        `UPDATE __bq.partition_state s SET last_modified_time = epoch_ms(${this.now()}) FROM __bq.stream_buffer b
         WHERE s.table_schema = b.table_schema AND s.table_name = b.table_name AND s.partition_id = b.partition_id;
         DELETE FROM __bq.stream_buffer`,
      );
    } finally {
      connection.closeSync();
    }
  }

  /** tables.get's streamingBuffer: rows still in the buffer and the oldest entry's time (ms). */
  private async streamingBuffer(connection: DuckDBConnection, dataset: string, table: string): Promise<{ rows: number; oldestMs: number } | undefined> {
    const reader = await connection.runAndReadAll(
      `SELECT sum(row_count), epoch_ms(min(streamed_at)) FROM __bq.stream_buffer WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)}`,
    );
    const row = reader.getRows()[0];
    return row?.[0] === null || row?.[0] === undefined ? undefined : { rows: Number(row[0]), oldestMs: Number(row[1]) };
  }

  /** Estimated bytes a query reads: 8 bytes per cell of every table it names (deterministic, for dry runs). */
  async estimateBytes(sql: string): Promise<number> {
    const connection = await this.instance.connect();
    try {
      const tables: NameParts[] = [];
      translateNames(sql, (name) => tables.push(name));
      let bytes = 0;
      for (const t of tables) {
        if (!t.dataset) continue;
        const reader = await connection.runAndReadAll(
          `SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = ${q(t.dataset)} AND table_name = ${q(t.table)}) *
                  (SELECT coalesce(sum(total_rows), 0) FROM __bq.partition_state WHERE table_schema = ${q(t.dataset)} AND table_name = ${q(t.table)})`,
        );
        bytes += 8 * Number(reader.getRows()[0]?.[0] ?? 0);
      }
      return bytes;
    } finally {
      connection.closeSync();
    }
  }

  /** A dry run's statistics.query.schema: the columns of a single query, in the REST API's type names. */
  async querySchema(sql: string, parameters: readonly RestParameter[]): Promise<Field[] | undefined> {
    const statements = splitScript(sql);
    const query = statements[0];
    if (statements.length !== 1 || query === undefined || !/^\s*(SELECT|WITH|\()/i.test(query)) return undefined;
    const connection = await this.instance.connect();
    try {
      const columns = await describeQuery(connection, translateUnnest(translateNames(substituteParameters(query, parameters))));
      return columns.map((c) => ({ name: c.name, type: legacyName(c.type), mode: 'NULLABLE' as const }));
    } catch (error) {
      throw toBigqueryError(error);
    } finally {
      connection.closeSync();
    }
  }

  /** Checks a statement compiles (EXPLAIN on each statement that is a query). */
  async validate(sql: string, parameters: readonly RestParameter[]): Promise<void> {
    const connection = await this.instance.connect();
    try {
      for (const statement of splitScript(sql)) {
        if (!/^\s*(SELECT|WITH)\b/i.test(statement)) continue;
        await checkTimestampCoercion(connection, translateUnnest(translateNames(substituteParameters(statement, parameters))));
      }
    } catch (error) {
      throw toBigqueryError(error);
    } finally {
      connection.closeSync();
    }
  }

  async tableInfo(
    dataset: string,
    table: string,
  ): Promise<
    | {
        fields: Field[];
        partitionColumn: string | undefined;
        granularity: string;
        rows: number;
        expirationMs: number | undefined;
        streamingBuffer: { rows: number; oldestMs: number } | undefined;
      }
    | undefined
  > {
    const connection = await this.instance.connect();
    try {
      const columns = await connection.runAndReadAll(
        `SELECT column_name, data_type, is_partitioning_column FROM __bq.columns WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)} ORDER BY ordinal_position`,
      );
      const rows = columns.getRows();
      if (rows.length === 0) return undefined;
      const total = await connection.runAndReadAll(
        `SELECT coalesce(sum(total_rows), 0) FROM __bq.partition_state WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)}`,
      );
      return {
        fields: rows.map((r) => ({ name: String(r[0]), type: legacyName(String(r[1])), mode: 'NULLABLE' as const })),
        partitionColumn: rows.find((r) => r[2] === 'YES')?.[0] as string | undefined,
        granularity: (await this.partitioningOf(connection, dataset, table))?.granularity ?? 'DAY',
        rows: Number(total.getRows()[0]?.[0] ?? 0),
        expirationMs: await expirationMs(connection, dataset, table),
        streamingBuffer: await this.streamingBuffer(connection, dataset, table),
      };
    } finally {
      connection.closeSync();
    }
  }

  async datasetExists(dataset: string): Promise<boolean> {
    const connection = await this.instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = ${q(dataset)}`);
      return Number(reader.getRows()[0]?.[0]) > 0;
    } finally {
      connection.closeSync();
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}

function q(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function bigqueryType(typeId: DuckDBTypeId | undefined): string {
  switch (typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'INTEGER';
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DECIMAL:
      return 'FLOAT';
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    default:
      return 'STRING';
  }
}

function restValue(value: DuckDBValue, typeId: DuckDBTypeId | undefined): string | null {
  if (value === null || value === undefined) return null;
  if ((typeId === DuckDBTypeId.TIMESTAMP || typeId === DuckDBTypeId.TIMESTAMP_TZ) && typeof value === 'object' && 'micros' in value)
    return String(value.micros);
  return String(value);
}

/** DuckDB's errors in BigQuery's words (reason + message), so the adapter's classifier is exercised. */
export function toBigqueryError(error: unknown): BigqueryLikeError {
  if (error instanceof BigqueryLikeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/conflict/i.test(message)) return new BigqueryLikeError(400, 'invalidQuery', `Transaction is aborted due to concurrent update against table. ${message}`);
  if (/interrupted/i.test(message)) return new BigqueryLikeError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
  // A misspelt column: BigQuery says "Unrecognized name" (a compile error, like DuckDB's Binder Error).
  const column = /Binder Error: Referenced column "([^"]+)" not found/.exec(message);
  if (column) return new BigqueryLikeError(400, 'invalidQuery', `Unrecognized name: ${column[1]} at [1:1]`);
  const missing = /(Table|Schema) with name "?([^"\s]+)"? does not exist/i.exec(message);
  if (missing) return new BigqueryLikeError(404, 'notFound', `Not found: ${missing[1]} ${missing[2]} was not found in location US`);
  return new BigqueryLikeError(400, 'invalidQuery', message);
}
