/**
 * A writable DuckDB target opens its file only once dag's lock is held (or on first use). DuckDB
 * admits one writing process per file, so a second `dag run` that opened the file first would fail
 * with DuckDB's own lock error instead of reading "locked by dag run X since T" and honouring --wait.
 * (Added by the runner's author, H4; the adapter itself is unchanged behind this wrapper.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Warehouse } from '../port.js';
import { FileLockedError } from './connection.js';
import { acquireFileLock, recordLockGroups, releaseFileLock } from './lock.js';

/** The previous lock holder releases its lock just before it closes the file: give it this long. */
const FILE_RELEASE_MS = 10_000;

export function openAfterLock(targetName: string, lockPath: string, open: () => Promise<Warehouse>): Warehouse {
  let inner: Promise<Warehouse> | undefined;
  const get = (): Promise<Warehouse> => (inner ??= openRetrying(open));
  return {
    targetName,
    readSnapshot: async (pipeline, nodes, options) => (await get()).readSnapshot(pipeline, nodes, options),
    access: async (job) => (await get()).access(job),
    stageSqlBatch: async (job, signal) => (await get()).stageSqlBatch(job, signal),
    markUnfinished: async (job, signal) => (await get()).markUnfinished(job, signal),
    handOver: async (job) => (await get()).handOver(job),
    takeBack: async (job) => (await get()).takeBack(job),
    readPartitions: async (job, signal) => (await get()).readPartitions(job, signal),
    checkPartitions: async (job, signal) => (await get()).checkPartitions(job, signal),
    recordPartitions: async (job, rows, fingerprints, signal, findings) => (await get()).recordPartitions(job, rows, fingerprints, signal, findings),
    recordSourceVersions: async (pipeline, snapshot, at, signal) => (await get()).recordSourceVersions(pipeline, snapshot, at, signal),
    recordRun: async (run) => (await get()).recordRun(run),
    recordFailures: async (failures) => (await get()).recordFailures(failures),
    estimateBytes: async (job) => (await get()).estimateBytes(job),
    dropProcessorTable: async (processor) => (await get()).dropProcessorTable(processor),
    recordBatches: async (batches) => (await get()).recordBatches(batches),
    readRecentRuns: async (limits) => (await get()).readRecentRuns(limits),
    readRun: async (runId) => (await get()).readRun(runId),
    readFailures: async (query) => (await get()).readFailures(query),
    async acquireLock(owner, waitMs) {
      const result = await acquireFileLock(lockPath, owner, waitMs);
      if (!result.ok) return result;
      try {
        await get();
      } catch (error) {
        await releaseFileLock(lockPath, owner);
        throw error;
      }
      return result;
    },
    recordCommandGroups: (owner, groups) => recordLockGroups(lockPath, owner, groups),
    releaseLock: (owner) => releaseFileLock(lockPath, owner),
    async close() {
      const opened = inner ? await inner.catch(() => undefined) : undefined;
      inner = undefined;
      await opened?.close();
    },
  };
}

async function openRetrying(open: () => Promise<Warehouse>): Promise<Warehouse> {
  const deadline = Date.now() + FILE_RELEASE_MS;
  for (;;) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof FileLockedError) || Date.now() >= deadline) throw error;
      await sleep(100);
    }
  }
}
