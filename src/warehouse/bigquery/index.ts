/**
 * The BigQuery adapter: the Warehouse port on @google-cloud/bigquery 8. Credentials come from
 * Application Default Credentials or the target's key file and are never printed or logged; the
 * location is passed on every job. Retries are the runner's: the batch client does not retry on its
 * own, so every attempt is counted and recorded; metadata reads let the client retry (idempotent).
 */
import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import type { BigqueryTarget, Pipeline } from '../../core/model.js';
import type { OpenOptions } from '../open.js';
import { done, failed, WarehouseError, type Step, type Warehouse } from '../port.js';
import { CheckedSelects } from '../checked-selects.js';
import { checkPartitions, commandEnv, dropProcessorTable, KeyedMutex, KnownTables, markUnfinished, readPartitions, recordPartitions, renderSelect, stageSqlBatch, type BatchState } from './batch.js';
import { toFailure } from './errors.js';
import { dryRunBytes } from './jobs.js';
import { readBigqueryFailures, readBigqueryHistory, readBigqueryRun } from './history.js';
import { LedgerWriter, type LedgerCheck } from './ledger.js';
import { hasRunSummaries, isOlderLedger } from '../ledger-shape.js';
import { readBigquerySnapshot } from './snapshot.js';

export function clientOptions(target: BigqueryTarget, options: OpenOptions, autoRetry: boolean): BigQueryOptions {
  const settings: BigQueryOptions = { projectId: target.project, location: target.location, autoRetry, maxRetries: autoRetry ? 3 : 0 };
  const endpoint = target.apiEndpoint ?? options.env.BIGQUERY_EMULATOR_HOST;
  if (endpoint !== undefined && endpoint !== '') settings.apiEndpoint = endpoint;
  if (target.keyFile !== undefined) settings.keyFilename = target.keyFile;
  return settings;
}

export async function openBigquery(target: BigqueryTarget, options: OpenOptions): Promise<Warehouse> {
  const readClient = new BigQuery(clientOptions(target, options, true));
  const jobClient = new BigQuery(clientOptions(target, options, false));
  const known = new KnownTables();
  const state: BatchState = { writers: new KeyedMutex(), known, checked: new CheckedSelects() };
  const ledger = new LedgerWriter(readClient, target);

  /** The ledger's tables exist, and a version-1 ledger is migrated, before a batch writes to them (once per process). */
  async function withLedger<T>(pipeline: Pipeline, run: () => Step<T> | Promise<Step<T>>): Promise<Step<T>> {
    try {
      await ledger.ensure();
      await ledger.migrate(pipeline);
    } catch (error) {
      if (error instanceof WarehouseError) return failed({ category: 'PROCESSOR_ERROR', message: error.message });
      return failed(toFailure(error));
    }
    return run();
  }

  return {
    targetName: target.name,
    readSnapshot: async (pipeline, nodes) => {
      // A run migrates an older ledger before reading it (beside the inventory reads); a plan reads it as it is.
      const check = async (): Promise<LedgerCheck> => {
        const checked = await ledger.check();
        if (!isOlderLedger(checked.state) || options.readOnly) return checked;
        await ledger.migrate(pipeline);
        return { state: 'current', queries: checked.queries };
      };
      const snapshot = await readBigquerySnapshot(readClient, target, pipeline, nodes, ledger.labels(), check);
      for (const [name, inventory] of snapshot.tables) {
        const table = pipeline.nodes.get(name)?.table;
        if (table && inventory.exists) known.add(table);
      }
      return snapshot;
    },
    // SQL batches write one table at a time each; a command needs no hold (it writes with its own credentials).
    access: async (job) => done(job.processor.action.kind === 'sql' ? await state.writers.acquire(`${job.processor.table.schema}.${job.processor.table.name}`) : { release: () => {}, abandon: () => {} }),
    stageSqlBatch: (job, signal) => withLedger(job.pipeline, () => stageSqlBatch(jobClient, target, state, job, signal)),
    markUnfinished: (job, signal) => withLedger(job.pipeline, () => markUnfinished(jobClient, target, job, signal)),
    handOver: async (job) => done(commandEnv(target, job)),
    takeBack: async () => done(undefined),
    readPartitions: (job, signal) => readPartitions(jobClient, target, job, signal),
    checkPartitions: (job, signal) => checkPartitions(jobClient, target, job, signal),
    recordPartitions: (job, rows, fingerprints, signal, findings) => recordPartitions(jobClient, target, job, rows, fingerprints, signal, findings),
    // BigQuery has modification times: nothing to remember.
    recordSourceVersions: async () => ({ versions: new Map(), failed: new Map() }),
    recordRun: (run) => ledger.recordRun(run),
    recordFailures: (failures) => ledger.recordFailures(failures),
    acquireLock: (owner, waitMs) => ledger.acquireLock(owner, waitMs),
    // The lock row has no column for them (docs/bigquery.md): a takeover cannot end a dead run's commands.
    recordCommandGroups: async () => undefined,
    releaseLock: (owner) => ledger.releaseLock(owner),
    dropProcessorTable: async (processor) => {
      await ledger.ensure();
      await dropProcessorTable(jobClient, target, state, processor);
    },
    recordBatches: (batches) => ledger.recordBatches(batches),
    // A ledger older than version 3 (read-only: never migrated) is read without run summaries and batches.
    readRecentRuns: async (limits) => readBigqueryHistory(readClient, target, limits, ledger.labels(), hasRunSummaries((await ledger.check()).state)),
    readRun: async (runId) => readBigqueryRun(readClient, target, runId, ledger.labels(), hasRunSummaries((await ledger.check()).state)),
    readFailures: async (query) => readBigqueryFailures(readClient, target, query, ledger.labels(), hasRunSummaries((await ledger.check()).state)),
    estimateBytes: async (job) => {
      const { processor } = job;
      if (processor.action.kind !== 'sql') return undefined;
      const select = renderSelect(target, job, processor.action.text);
      try {
        return await dryRunBytes(readClient, select, { target, labels: ledger.labels(processor.name) });
      } catch {
        // e.g. an upstream table that does not exist yet: BigQuery cannot estimate.
        return undefined;
      }
    },
    close: async () => undefined,
  };
}
