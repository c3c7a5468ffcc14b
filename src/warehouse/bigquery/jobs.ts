/**
 * Running one query job: createQueryJob with the target's location, labels, timeout and byte cap on
 * EVERY job (the client's fast path would drop the location), then getQueryResults polled with a short
 * timeoutMs so dag's own abort is noticed; on abort the job is cancelled with jobs.cancel, because
 * BigQuery keeps running a job whose HTTP wait lapsed, and a job that finished before the cancel landed
 * is reported as finished (a batch that committed is never reported as cancelled).
 */
import type { BigQuery, Job, Query } from '@google-cloud/bigquery';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BigqueryTarget } from '../../core/model.js';

export type Row = Record<string, unknown>;

export interface JobContext {
  readonly target: BigqueryTarget;
  /** Job labels beyond the target's (dag_run_id, dag_processor...). Values are sanitised here. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Long-poll wait per getQueryResults call: short, so an abort is noticed between calls. */
const POLL_MS = 2_000;

export class JobCancelled extends Error {
  constructor(readonly jobId: string | undefined) {
    super('the job was cancelled');
  }
}

/** BigQuery label values: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}

export function jobOptions(sql: string, params: Record<string, unknown> | undefined, context: JobContext, dryRun = false): Query {
  const { target } = context;
  const labels: Record<string, string> = { dag: 'true' };
  for (const [key, value] of Object.entries({ ...target.labels, ...context.labels })) labels[labelValue(key)] = labelValue(value);
  const options: Query = { query: sql, location: target.location, labels, useLegacySql: false };
  if (params && Object.keys(params).length > 0) options.params = params;
  if (target.jobTimeoutMs !== undefined) options.jobTimeoutMs = target.jobTimeoutMs;
  if (target.maximumBytesBilled !== undefined) options.maximumBytesBilled = String(target.maximumBytesBilled);
  if (dryRun) options.dryRun = true;
  return options;
}

/** Runs a query or script to completion and returns the rows of its (last) result. */
export async function runJob(client: BigQuery, sql: string, params: Record<string, unknown> | undefined, context: JobContext): Promise<Row[]> {
  const { signal } = context;
  if (signal?.aborted) throw new JobCancelled(undefined);
  const [job] = await client.createQueryJob(jobOptions(sql, params, context));
  return waitForJob(job, context);
}

async function waitForJob(job: Job, context: JobContext): Promise<Row[]> {
  const { signal } = context;
  let onAbort: (() => void) | undefined;
  // Shaped like getQueryResults' answer: [rows].
  const aborted = new Promise<[Row[]]>((resolve, reject) => {
    onAbort = () => {
      // Cancel the job server-side; one that finished first is reported as done (it committed).
      afterCancel(job).then((rows) => resolve([rows]), () => reject(new JobCancelled(job.id)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    if (signal?.aborted) onAbort?.();
    for (;;) {
      try {
        const [rows] = await Promise.race([job.getQueryResults({ timeoutMs: POLL_MS }), aborted]);
        return rows as Row[];
      } catch (error) {
        if (error instanceof JobCancelled) throw error;
        if (signal?.aborted) return (await aborted)[0];
        if (error instanceof Error && error.message.startsWith('The query did not complete before')) continue;
        throw error;
      }
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** How often to look whether a cancelled job has ended (every 250 ms) before calling it cancelled. */
const CANCEL_POLLS = 20;

interface JobStatus {
  readonly state?: string;
  readonly errorResult?: unknown;
}

/**
 * jobs.cancel, then the job's final state: BigQuery cancels on a best-effort basis, so a job may finish
 * before the cancel lands. Its rows when it succeeded; throws when it was stopped or failed.
 */
async function afterCancel(job: Job): Promise<Row[]> {
  const [response] = (await job.cancel()) as unknown as [{ job?: { status?: JobStatus } } | undefined];
  let status = response?.job?.status;
  for (let polls = 0; status?.state !== 'DONE'; polls++) {
    if (polls >= CANCEL_POLLS) throw new JobCancelled(job.id);
    await sleep(250);
    const [metadata] = (await job.getMetadata()) as unknown as [{ status?: JobStatus }];
    status = metadata.status;
  }
  if (status.errorResult) throw new JobCancelled(job.id);
  const [rows] = await job.getQueryResults({ timeoutMs: POLL_MS });
  return rows as Row[];
}

/** Free dry run: bytes the query would process, or undefined when BigQuery does not say. */
export async function dryRunBytes(client: BigQuery, sql: string, context: JobContext): Promise<number | undefined> {
  const [job] = await client.createQueryJob(jobOptions(sql, undefined, context, true));
  const metadata = job.metadata as { statistics?: { totalBytesProcessed?: string; query?: { totalBytesProcessed?: string } } };
  const bytes = metadata.statistics?.query?.totalBytesProcessed ?? metadata.statistics?.totalBytesProcessed;
  return bytes === undefined ? undefined : Number(bytes);
}
