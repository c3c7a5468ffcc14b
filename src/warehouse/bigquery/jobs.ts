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
import { classify, errorReasons, isNotFound } from './errors.js';

export type Row = Record<string, unknown>;

export interface JobContext {
  readonly target: BigqueryTarget;
  /** Job labels beyond the target's (dag_run_id, dag_processor...). Values are sanitised here. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /**
   * The job's id (jobIdFor): given, a request that failed without an answer is resolved by asking
   * BigQuery for that job (jobs.get) instead of starting another; absent, the client makes a random one.
   */
  readonly jobId?: string;
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
  const options = jobOptions(sql, params, context);
  if (context.jobId === undefined) {
    const [job] = await client.createQueryJob(options);
    return waitForJob(job, context);
  }
  return waitForJob(await insertOrAttach(client, { ...options, jobId: context.jobId }, context), context);
}

/**
 * A job id BigQuery accepts: letters, digits, `_` and `-`, at most 1,024 characters
 * (https://cloud.google.com/bigquery/docs/reference/rest/v2/JobReference). Other characters become
 * `_`; when that changed a part, a short hash of the raw parts keeps two names apart (`a.b`, `a_b`).
 */
export function jobIdFor(parts: readonly (string | number)[]): string {
  const raw = parts.map(String);
  const clean = raw.map((part) => part.replace(/[^A-Za-z0-9_-]/g, '_'));
  const changed = clean.some((part, i) => part !== raw[i]);
  const id = ['dag', ...clean].join('_') + (changed ? `_${shortHash(raw.join('\u0000'))}` : '');
  return id.length <= 1024 ? id : `${id.slice(0, 1015)}_${shortHash(id)}`;
}

function shortHash(text: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits: enough to keep sanitized names apart
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** How often an ambiguous request is resolved (jobs.get, or another poll) before it counts as failed. */
const RESOLVE_TRIES = 5;

/** Backoff with jitter between those tries: 250 ms, 500 ms, 1 s, 2 s (each ± half). */
function resolveDelay(tryIndex: number): number {
  const base = 250 * 2 ** tryIndex;
  return base / 2 + Math.random() * base;
}

/**
 * A failure without BigQuery's verdict on the job: the connection dropped or timed out, or a 5xx. The
 * request may have been carried out (the job inserted, still running), so it is asked about, never
 * simply repeated. A rejection BigQuery explains (429, 403 rateLimitExceeded, 400) started nothing.
 */
function isAmbiguous(error: unknown): boolean {
  if (classify(error) !== 'TRANSIENT') return false;
  const code = Number((error as { code?: unknown } | null)?.code);
  if (Number.isFinite(code) && code >= 500) return true;
  return !Number.isFinite(code) && errorReasons(error).length === 0;
}

function isDuplicate(error: unknown): boolean {
  return Number((error as { code?: unknown } | null)?.code) === 409 || errorReasons(error).includes('duplicate');
}

/**
 * jobs.insert with our own job id. BigQuery refuses a second job with an id it has seen (409
 * `duplicate`, https://cloud.google.com/bigquery/docs/running-jobs#generate-jobid), so after an
 * insert that failed without an answer dag looks the job up (jobs.get): found, it waits for that job
 * (it runs, and bills, once); not found, the insert is sent again with the same id, which cannot start
 * a second job either (409 → attach). The client's own retry would not do this: it re-inserts only
 * ids it generated itself.
 */
async function insertOrAttach(client: BigQuery, options: Query & { jobId: string }, context: JobContext): Promise<Job> {
  const existing = () => client.job(options.jobId, { location: options.location });
  let lastError: unknown;
  for (let attempt = 0; attempt < RESOLVE_TRIES; attempt++) {
    if (attempt > 0) await sleep(resolveDelay(attempt - 1));
    if (context.signal?.aborted) {
      // An earlier insert may have started the job: cancel it (best effort; 404 when it never did).
      await existing()
        .cancel()
        .catch(() => undefined);
      throw new JobCancelled(options.jobId);
    }
    try {
      const [job] = await client.createQueryJob(options);
      return job;
    } catch (error) {
      if (isDuplicate(error)) return attachTo(existing(), options.query ?? '');
      if (!isAmbiguous(error)) throw error;
      lastError = error;
    }
    try {
      return await attachTo(existing(), options.query ?? '');
    } catch (error) {
      // Not there: the insert never arrived; send it again (same id). Unreachable: ask again.
      if (!isNotFound(error) && !isAmbiguous(error)) throw error;
    }
  }
  throw lastError;
}

/** The job behind our id, after checking it is the statement we meant to send (an id is never reused). */
async function attachTo(job: Job, sql: string): Promise<Job> {
  const [metadata] = (await job.getMetadata()) as unknown as [{ configuration?: { query?: { query?: string } } }];
  const sent = metadata.configuration?.query?.query;
  if (sent !== undefined && sent !== sql) throw new Error(`BigQuery job ${job.id ?? ''} already exists with another query; job ids must not be reused`);
  return job;
}

async function waitForJob(job: Job, context: JobContext): Promise<Row[]> {
  const { signal } = context;
  let onAbort: (() => void) | undefined;
  // Shaped like getQueryResults' answer: [rows].
  const aborted = new Promise<[Row[]]>((resolve, reject) => {
    onAbort = () => {
      // Cancel the job server-side; one that finished first is reported as done (it committed).
      afterCancel(job).then(
        (rows) => resolve([rows]),
        () => reject(new JobCancelled(job.id)),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    if (signal?.aborted) onAbort?.();
    let unanswered = 0;
    for (;;) {
      try {
        const [rows] = await Promise.race([job.getQueryResults({ timeoutMs: POLL_MS }), aborted]);
        return rows as Row[];
      } catch (error) {
        if (error instanceof JobCancelled) throw error;
        if (signal?.aborted) return (await aborted)[0];
        if (error instanceof Error && error.message.startsWith('The query did not complete before')) {
          unanswered = 0;
          continue;
        }
        // A poll that got no verdict says nothing about the job, which runs on: ask for its state.
        if (context.jobId !== undefined && isAmbiguous(error) && ++unanswered < RESOLVE_TRIES && (await stillRunning(job, context))) continue;
        throw error;
      }
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * After a poll failed without an answer: true when the job is still there to wait for (running, or
 * done: the next poll reads its result or its error). jobs.get is retried with backoff; false when
 * BigQuery stays unreachable, and the poll's error then stands.
 */
async function stillRunning(job: Job, context: JobContext): Promise<boolean> {
  for (let attempt = 0; attempt < RESOLVE_TRIES; attempt++) {
    await sleep(resolveDelay(attempt));
    if (context.signal?.aborted) return true; // the abort path cancels it
    try {
      const [metadata] = (await job.getMetadata()) as unknown as [{ status?: JobStatus }];
      // A job that failed answers its polls with its own error: that error is the verdict.
      return !(metadata.status?.state === 'DONE' && metadata.status.errorResult);
    } catch (error) {
      if (!isAmbiguous(error)) return false;
    }
  }
  return false;
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
