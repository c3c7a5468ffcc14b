/**
 * Opening the database file and talking to it. The file is ATTACHed to an in-memory instance under a
 * fixed alias (sql.ts CATALOG) so that names never clash with the file's own name. Statements on one
 * connection run one at a time (a queue); separate connections of one instance may run concurrently.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBMaterializedResult, DuckDBValue } from '@duckdb/node-api';
import { WarehouseError, type FailureCategory, type JobFailure } from '../port.js';
import { firstLine } from '../shared.js';
import * as nodeApi from './node-api.js';
import { CATALOG, quoteString } from './sql.js';

export type StatementHook = (sql: string) => void;

/** One connection whose statements are serialised, with the SQL reported to an optional hook. */
export class SerialConnection {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly onStatement: StatementHook | undefined,
  ) {}

  /** Runs a statement for its effect. */
  run(sql: string): Promise<void> {
    this.onStatement?.(sql);
    return this.enqueue(async () => {
      await this.connection.run(sql);
    });
  }

  /** Runs statements (`;`-separated, one round trip) and returns how many rows the last one changed. */
  changes(sql: string): Promise<number> {
    this.onStatement?.(sql);
    return this.enqueue(async () => (await this.connection.run(sql)).rowsChanged);
  }

  /** Runs a query and returns its columns (column-major: cheap for big results). */
  columns(sql: string): Promise<DuckDBValue[][]> {
    this.onStatement?.(sql);
    return this.enqueue(async () => (await this.connection.runAndReadAll(sql)).getColumns());
  }

  /**
   * Runs a query whose columns are all non-null DOUBLEs and returns them as Float64Arrays, copied
   * chunk by chunk from DuckDB's vectors: no JS value per cell, so millions of rows cost milliseconds.
   * With `rows` (the row count expected) the result is streamed into arrays of that size (grown if
   * more come), so DuckDB never holds the whole result beside the copy (a 7M-row ledger: 350 MB each).
   */
  numbers(sql: string, rows?: number): Promise<Float64Array[]> {
    this.onStatement?.(sql);
    return this.enqueue(async () => {
      const result = rows === undefined ? await this.connection.run(sql) : await this.connection.stream(sql);
      const size = rows ?? (result as DuckDBMaterializedResult).rowCount;
      let columns = Array.from({ length: result.columnCount }, () => new Float64Array(size));
      let offset = 0;
      const copy = (chunk: DuckDBDataChunk): void => {
        if (offset + chunk.rowCount > columns[0]!.length) {
          const grown = Math.max(2 * columns[0]!.length, offset + chunk.rowCount);
          columns = columns.map((column) => {
            const bigger = new Float64Array(grown);
            bigger.set(column.subarray(0, offset));
            return bigger;
          });
        }
        columns.forEach((column, c) => {
          const items = (chunk.getColumnVector(c) as unknown as { items?: unknown }).items;
          if (!(items instanceof Float64Array)) throw new Error(`numbers(): column ${c} is not DOUBLE`);
          column.set(items.subarray(0, chunk.rowCount), offset);
        });
        offset += chunk.rowCount;
      };
      if (rows === undefined) for (let k = 0; k < (result as DuckDBMaterializedResult).chunkCount; k++) copy((result as DuckDBMaterializedResult).getChunk(k));
      else for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) copy(chunk);
      return columns.map((column) => (column.length === offset ? column : column.subarray(0, offset)));
    });
  }

  /** Runs statements in order; when one fails, a transaction it opened is rolled back. */
  async runAll(statements: readonly string[]): Promise<void> {
    try {
      for (const sql of statements) await this.run(sql);
    } catch (error) {
      if (statements[0] === 'BEGIN TRANSACTION') await this.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Appends rows through DuckDB's appender (bulk, no SQL text), flushed before the promise settles. */
  append(catalog: string, schema: string, table: string, fill: (appender: DuckDBAppender) => void): Promise<void> {
    this.onStatement?.(`-- append to ${schema}.${table}`);
    return this.enqueue(async () => {
      const appender = await this.connection.createAppender(table, schema, catalog);
      try {
        fill(appender);
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    });
  }

  /** Stops the running statement; it then fails with an INTERRUPT error. */
  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.connection.disconnectSync();
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * A read-only open only reads the snapshot (plan, explain, report). One DuckDB thread per query: the
 * snapshot's queries already run side by side on three connections, and on two cores extra worker
 * threads cost more CPU than they save (a 300-source plan: 22% less CPU with one; issue 15). No
 * memory_limit for the whole open: a 2,000 × 3,650 plan sorts its 7.3M ledger rows, which a low
 * limit spills into `.tmp` in the working directory (a plan must not write there) many times slower
 * (bench/README.md). Only the many small processor inventories are read bounded (bounded()), and the
 * memory is given back after the snapshot (releaseMemory).
 */
const READ_ONLY_CONFIG: Record<string, string> = { threads: '1' };

/** The opened file: an instance with the file attached, plus a serialised main connection. */
export class OpenDatabase {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly main: SerialConnection,
    private readonly onStatement: StatementHook | undefined,
  ) {}

  static async open(path: string, readOnly: boolean, onStatement?: StatementHook): Promise<OpenDatabase> {
    return (await OpenDatabase.begin(path, readOnly, onStatement)).attached;
  }

  /**
   * Opens in two steps: resolves once the instance and its first connection exist and the ATTACH is
   * sent (DuckDB runs it on its own thread: a file's catalog of thousands of tables takes ~200 ms),
   * with `attached` for the rest; the caller may do other work in between (prefetchDuckdb).
   */
  static async begin(path: string, readOnly: boolean, onStatement?: StatementHook): Promise<{ attached: Promise<OpenDatabase> }> {
    if (!readOnly) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (error) {
        throw new WarehouseError(
          'unreadable-target',
          `cannot create the folder of the DuckDB file ${path}: ${(error as Error).message}`,
          'check the target path in pipeline.yaml and its permissions',
        );
      }
    }
    const instance = await nodeApi.DuckDBInstance.create(':memory:', readOnly ? READ_ONLY_CONFIG : {});
    let connection: DuckDBConnection;
    try {
      connection = await instance.connect();
    } catch (error) {
      instance.closeSync();
      throw error;
    }
    const attach = connection.run(`ATTACH ${quoteString(path)} AS ${CATALOG}${readOnly ? ' (READ_ONLY)' : ''}`);
    const attached = (async () => {
      try {
        await attach;
        await connection.run(`USE ${CATALOG}`);
      } catch (error) {
        connection.disconnectSync();
        instance.closeSync();
        throw openError(path, error);
      }
      return new OpenDatabase(instance, new SerialConnection(connection, onStatement), onStatement);
    })();
    return { attached };
  }

  /** A fresh connection for one batch; the caller closes it. */
  async connect(): Promise<SerialConnection> {
    const connection = await this.instance.connect();
    await connection.run(`USE ${CATALOG}`);
    return new SerialConnection(connection, this.onStatement);
  }

  /**
   * Gives back the buffer pool's memory once a read-only command has read what it needs (issue 15):
   * lowering memory_limit evicts every unpinned block (a read-only file's blocks are clean: nothing is
   * written, no `.tmp` folder is made) and DuckDB returns the freed memory to the OS; the limit is then
   * set back to what it was (`RESET` would show the default but leave the low limit in force), so
   * later queries (a report's history) run as before. Best effort: if DuckDB cannot evict down to the
   * low limit it refuses the setting, and the command only keeps more memory.
   */
  async releaseMemory(): Promise<void> {
    const limit = await this.setting('memory_limit');
    try {
      await this.main.run(`SET memory_limit = '1MB'`);
    } catch {
      // Pinned blocks above the limit: they stay.
    } finally {
      await this.main.run(`SET memory_limit = ${quoteString(limit)}`);
    }
  }

  /**
   * Runs `work` (read-only queries, nothing else running) with the buffer pool bounded to `limit` and
   * no spilling: DuckDB then evicts the blocks it has read and reuses their memory for the next
   * table's, where unbounded it keeps every block in freshly faulted memory (2,000 small tables:
   * 500 MB, and more than half the snapshot's CPU in the kernel; issue 15). With no temp directory a
   * query that needs more than the limit fails with an Out of Memory error (isOutOfMemory) instead
   * of writing `.tmp` into the working directory: the caller runs it again after. Both settings are
   * put back whatever happens. Should DuckDB refuse a setting, `work` runs unbounded (it accepts a
   * limit below what it holds, and queries that need more then fail for memory, as above).
   */
  async bounded<T>(limit: string, work: () => Promise<T>): Promise<T> {
    const [memory, temp] = [await this.setting('memory_limit'), await this.setting('temp_directory')];
    try {
      await this.main.run(`SET temp_directory = ''`);
      await this.main.run(`SET memory_limit = ${quoteString(limit)}`);
    } catch {
      await this.main.run(`SET temp_directory = ${quoteString(temp)}`);
      return work();
    }
    try {
      return await work();
    } finally {
      await this.main.run(`SET memory_limit = ${quoteString(memory)}`);
      await this.main.run(`SET temp_directory = ${quoteString(temp)}`);
    }
  }

  private async setting(name: string): Promise<string> {
    const [[value] = []] = await this.main.columns(`SELECT current_setting(${quoteString(name)})`);
    return String(value);
  }

  /**
   * `leaveInstance`: only the connection is closed, and the instance with its buffer pool is left to
   * the process exit, which is about to come (a read-only CLI command): freeing hundreds of MB of
   * table blocks one by one cost up to a second of a 2,000-table plan.
   */
  close(leaveInstance = false): void {
    this.main.close();
    if (leaveInstance) return;
    // DETACH is implicit: closing the instance releases the file and its lock.
    this.instance.closeSync();
  }
}

/** The lock DuckDB reports when another process has the file open for writing. */
const LOCKED = /Could not set lock on file/;

/** The file is open for writing in another process: worth retrying once that process lets go. */
export class FileLockedError extends WarehouseError {}

export function openError(path: string, error: unknown): WarehouseError {
  const message = firstLine(error);
  const locked = LOCKED.exec(message);
  if (locked) {
    const pid = /\(PID (\d+)\)/.exec(message)?.[1];
    return new FileLockedError(
      'unreadable-target',
      `the DuckDB file ${path} is locked by another process${pid ? ` (PID ${pid})` : ''}`,
      'wait for that process (another dag run, a notebook, the duckdb CLI) to finish or close the file, then retry',
    );
  }
  if (!existsSync(path))
    return new WarehouseError('unreadable-target', `cannot open the DuckDB file ${path}: ${message}`, 'check the target path in pipeline.yaml');
  return new WarehouseError(
    'unreadable-target',
    `cannot open the DuckDB file ${path}: ${message}`,
    'check that the file is a DuckDB database you may read and write',
  );
}

/**
 * Errors that do not depend on the data: the SQL does not parse or bind, an object is missing, a file
 * or permission is missing, the disk is full. Retrying or splitting the batch cannot help.
 */
const DATA_INDEPENDENT_CLASS = /^(Parser|Binder|Catalog|Permission|Dependency|Not implemented) Error/;
const MISSING_FILE_OR_ROOM =
  /No files found that match|No such file or directory|Permission denied|No space left on device|Read-only file system|Disk quota exceeded/i;

/** DuckDB errors start with their class ("Binder Error: ..."); lock conflicts, other I/O and memory may pass on retry. */
export function classifyDuckdbError(error: unknown): FailureCategory {
  const message = error instanceof Error ? error.message : String(error);
  if (/^INTERRUPT/i.test(message)) return 'CANCELLED';
  if (isDataIndependent(message)) return 'PROCESSOR_ERROR';
  if (/^(IO Error|TransactionContext Error|Transaction Error|Out of Memory Error)|[Cc]onflict|Could not set lock/.test(message)) return 'TRANSIENT';
  return 'PROCESSOR_ERROR';
}

/** DuckDB ran out of the memory it may use (a bounded read: OpenDatabase.bounded). */
export function isOutOfMemory(error: unknown): boolean {
  return /^Out of Memory Error/.test(error instanceof Error ? error.message : String(error));
}

function isDataIndependent(message: string): boolean {
  return DATA_INDEPENDENT_CLASS.test(message) || MISSING_FILE_OR_ROOM.test(message);
}

/** A DuckDB error as a job failure: its category, `message`, and whether it depends on the data. */
export function duckdbFailure(error: unknown, message: string): JobFailure {
  const text = error instanceof Error ? error.message : String(error);
  const category = classifyDuckdbError(error);
  return category === 'PROCESSOR_ERROR' && isDataIndependent(text) ? { category, message, dataIndependent: true } : { category, message };
}
