/**
 * The BigQuery adapter: the Warehouse port on @google-cloud/bigquery 8. Credentials come from
 * Application Default Credentials or the target's key file and are never printed or logged; the
 * location is passed on every job. Retries are the runner's: the batch client does not retry on its
 * own, so every attempt is counted and recorded; metadata reads let the client retry (idempotent).
 */
import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import type { BigqueryTarget } from '../../core/model.js';
import type { OpenOptions } from '../open.js';
import { done, failed, type Step, type Warehouse } from '../port.js';
import { commandEnv, KeyedMutex, KnownTables, markUnfinished, readPartitions, recordPartitions, renderSelect, stageSqlBatch } from './batch.js';
import { toFailure } from './errors.js';
import { dryRunBytes } from './jobs.js';
import { LedgerWriter } from './ledger.js';
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
  const writers = new KeyedMutex();
  const known = new KnownTables();
  const ledger = new LedgerWriter(readClient, target);

  /** The ledger's tables exist before a batch writes to them (once per process). */
  async function withLedger<T>(run: () => Step<T> | Promise<Step<T>>): Promise<Step<T>> {
    try {
      await ledger.ensure();
    } catch (error) {
      return failed(toFailure(error));
    }
    return run();
  }

  return {
    targetName: target.name,
    readSnapshot: async (pipeline, nodes) => {
      const snapshot = await readBigquerySnapshot(readClient, target, pipeline, nodes, ledger.labels());
      for (const [name, inventory] of snapshot.tables) {
        const table = pipeline.nodes.get(name)?.table;
        if (table && inventory.exists) known.add(table);
      }
      return snapshot;
    },
    // SQL batches write one table at a time each; a command needs no hold (it writes with its own credentials).
    access: async (job) => done(job.processor.action.kind === 'sql' ? await writers.acquire(`${job.processor.table.schema}.${job.processor.table.name}`) : { release: () => {}, abandon: () => {} }),
    stageSqlBatch: (job) => withLedger(() => stageSqlBatch(jobClient, target, known, job)),
    markUnfinished: (job, signal) => withLedger(() => markUnfinished(jobClient, target, job, signal)),
    handOver: async (job) => done(commandEnv(target, job)),
    takeBack: async () => done(undefined),
    readPartitions: (job, signal) => readPartitions(jobClient, target, job, signal),
    recordPartitions: (job, rows, fingerprints, signal) => recordPartitions(jobClient, target, job, rows, fingerprints, signal),
    // BigQuery has modification times: nothing to remember.
    recordSourceVersions: async () => ({ versions: new Map(), failed: new Map() }),
    recordRun: (run) => ledger.recordRun(run),
    recordFailure: (failure) => ledger.recordFailure(failure),
    acquireLock: (owner, waitMs) => ledger.acquireLock(owner, waitMs),
    // The lock row has no column for them (docs/bigquery.md): a takeover cannot end a dead run's commands.
    recordCommandGroups: async () => undefined,
    releaseLock: (owner) => ledger.releaseLock(owner),
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
