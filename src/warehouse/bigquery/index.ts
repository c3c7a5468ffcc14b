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
import {
  checkPartitions,
  commandEnv,
  dropProcessorTable,
  KeyedMutex,
  KnownTables,
  markUnfinished,
  readPartitions,
  recordPartitions,
  renderSelect,
  stageSqlBatch,
  type BatchState,
} from './batch.js';
import { batchBill, PartitionBytes } from './cost.js';
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
  const partitionBytes = new PartitionBytes(readClient, target, () => ledger.labels());

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
      // A run migrates an older ledger and re-lays out an unpartitioned one before reading it
      // (beside the inventory reads, under the run lock); a plan reads it as it is and is told.
      let layout: LedgerCheck['layout'];
      const check = async (): Promise<LedgerCheck> => {
        const checked = await ledger.check();
        layout = checked.layout;
        if (!isOlderLedger(checked.state) && (layout ?? 'partitioned') === 'partitioned') return checked;
        if (options.readOnly) {
          if (layout === 'interrupted') throw interruptedRelayout(target);
          return checked;
        }
        await ledger.migrate(pipeline);
        return { state: 'current', queries: checked.queries };
      };
      const read = await readBigquerySnapshot(readClient, target, pipeline, nodes, ledger.labels(), check);
      const notes = layoutNotes(target, ledger.relaidOut ?? (layout === 'old' ? 'unchanged' : undefined));
      const snapshot = notes.length > 0 ? { ...read, ledgerNotes: notes } : read;
      for (const [name, inventory] of snapshot.tables) {
        const table = pipeline.nodes.get(name)?.table;
        if (table && inventory.exists) known.add(table);
      }
      return snapshot;
    },
    // SQL batches write one table at a time each; a command needs no hold (it writes with its own credentials).
    access: async (job) =>
      done(
        job.processor.action.kind === 'sql'
          ? await state.writers.acquire(`${job.processor.table.schema}.${job.processor.table.name}`)
          : { release: () => {}, abandon: () => {} },
      ),
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
    recordCommandGroups: (owner, groups) => ledger.recordCommandGroups(owner, groups),
    compactLedger: (pipeline) => ledger.compact(pipeline),
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
    // One batch script's on-demand bill (cost.ts): the SELECT's dry run, the partitions it replaces,
    // and BigQuery's 10 MB minimum for every billed statement.
    estimateBytes: async (job) => {
      const { processor, batch } = job;
      if (processor.action.kind !== 'sql') return undefined;
      const select = renderSelect(target, job, processor.action.text);
      let selectBytes: number | undefined;
      try {
        selectBytes = await dryRunBytes(readClient, select, { target, labels: ledger.labels(processor.name) });
      } catch {
        // e.g. an upstream table that does not exist yet: BigQuery cannot estimate.
        return undefined;
      }
      if (selectBytes === undefined) return undefined;
      const replaced = await partitionBytes.inRange(processor.table, batch.start, batch.end);
      return batchBill(selectBytes, replaced, !known.has(processor.table)).reduce((sum, s) => sum + s.bytes, 0);
    },
    close: async () => undefined,
  };
}

/** A plan met a re-layout that stopped between dropping `partitions` and recreating it. */
function interruptedRelayout(target: BigqueryTarget): WarehouseError {
  const ledger = `${target.project}.${target.ledgerSchema}`;
  // 'bad-ledger' (exit 2) like the ledger check's other refusals (ledger-shape.ts judgeLedger).
  return new WarehouseError(
    'bad-ledger',
    `the ledger of target '${target.name}' is being re-laid out, or its re-layout was interrupted: ${ledger}.partitions is missing and its rows are in ${ledger}.partitions_relayout`,
    'run `dag run` (any range): it finishes the re-layout under the run lock before anything else',
  );
}

/** What a plan or run says about the ledger's layout: `old` unpartitioned and left so (a plan), or re-laid out now. */
function layoutNotes(target: BigqueryTarget, relaid: 'old' | 'interrupted' | 'unchanged' | undefined): { message: string; hint: string }[] {
  const table = `${target.ledgerSchema}.partitions`;
  if (relaid === 'unchanged')
    return [
      {
        message: `the ledger table ${table} of target '${target.name}' is not partitioned (created before dag partitioned it): every plan reads its whole history`,
        hint: 'the next `dag run` re-lays it out once, under the run lock (docs/bigquery.md#the-ledger-dataset)',
      },
    ];
  if (relaid === undefined) return [];
  return [
    {
      message: `${relaid === 'old' ? 're-laid out' : 'finished re-laying out'} the ledger table ${table} of target '${target.name}': partitioned by month of partition_date, clustered by table_name, processor (every row kept)`,
      hint: "`dag ledger compact` keeps only each partition's latest row, when plans read too much history (docs/bigquery.md#the-ledger-dataset)",
    },
  ];
}
