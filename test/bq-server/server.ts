/**
 * A loopback BigQuery REST v2 server for tests: the subset @google-cloud/bigquery 8 uses, executing on
 * DuckDB (see engine.ts), with job states, dry runs, cancel, BigQuery's error shape, injectable faults
 * and a request log. Start it in-process with startBqServer(); see README.md for what it proves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DuckDBConnection } from '@duckdb/node-api';
import { Engine, type Field, type QueryResult } from './engine.js';
import { BigqueryLikeError, type RestParameter } from './translate.js';
import { checkBytesBilled, checkLabels } from './job-rules.js';

export interface LoggedRequest {
  readonly method: string;
  /** Path without the /bigquery/v2 prefix and without the query string. */
  readonly path: string;
  readonly prefixed: boolean;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A one-shot (or `times`-shot) fault, matched against requests or jobs. */
export type Fault =
  | {
      readonly kind: 'http';
      readonly method?: string;
      readonly path: RegExp;
      /** Only requests whose job query matches (jobs.insert / jobs.query bodies). */
      readonly sql?: RegExp;
      readonly status: number;
      readonly reason: string;
      times?: number;
    }
  | { readonly kind: 'jobError'; readonly sql: RegExp; readonly reason: string; readonly message?: string; times?: number }
  | { readonly kind: 'slow'; readonly sql: RegExp; readonly ms: number; times?: number }
  /**
   * The request is carried out (a jobs.insert starts its job), then the connection is dropped before
   * any answer: the client sees a socket hang up, as after a network failure past BigQuery's front end.
   */
  | { readonly kind: 'drop'; readonly method?: string; readonly path: RegExp; readonly sql?: RegExp; times?: number }
  /** Fails the script just before statement `beforeStatement` (0-based): a crash between statements. */
  | { readonly kind: 'failBetween'; readonly sql: RegExp; readonly beforeStatement: number; readonly reason: string; times?: number };

interface Job {
  readonly id: string;
  readonly projectId: string;
  readonly location: string | undefined;
  readonly configuration: Record<string, unknown>;
  state: 'PENDING' | 'RUNNING' | 'DONE';
  error: BigqueryLikeError | undefined;
  result: QueryResult | undefined;
  cancelled: boolean;
  connection: DuckDBConnection | undefined;
  done: Promise<void>;
  bytes: number;
  /** A dry run's result schema (statistics.query.schema). */
  schema: Field[] | undefined;
}

export interface BqServer {
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  readonly log: LoggedRequest[];
  readonly faults: Fault[];
  /** Job configurations in arrival order (dry runs included). */
  readonly jobs: () => readonly { id: string; location: string | undefined; configuration: Record<string, unknown>; state: string; error?: string }[];
  /** Runs BigQuery-dialect SQL directly (fixtures); partitions' modification times move as for jobs. */
  exec(sql: string): Promise<QueryResult>;
  /** tabledata.insertAll without HTTP: rows land in the streaming buffer (`__UNPARTITIONED__`). */
  stream(dataset: string, table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** BigQuery extracting every buffered row into its partition. */
  flushStreamingBuffer(): Promise<void>;
  close(): Promise<void>;
}

export interface BqServerOptions {
  /** Jobs in another location fail with notFound, as BigQuery does for datasets it cannot find there. */
  readonly location?: string;
}

export async function startBqServer(options: BqServerOptions = {}): Promise<BqServer> {
  const engine = await Engine.create();
  const log: LoggedRequest[] = [];
  const faults: Fault[] = [];
  const jobs = new Map<string, Job>();
  const location = options.location ?? 'US';
  let sequence = 0;

  function takeFault<K extends Fault['kind']>(kind: K, test: (fault: Extract<Fault, { kind: K }>) => boolean): Extract<Fault, { kind: K }> | undefined {
    const index = faults.findIndex((f) => f.kind === kind && test(f as Extract<Fault, { kind: K }>));
    if (index === -1) return undefined;
    const fault = faults[index] as Extract<Fault, { kind: K }>;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  }

  function startJob(projectId: string, body: Record<string, unknown>): Job {
    const reference = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const queryConfig = (configuration.query ?? {}) as { query?: string; queryParameters?: RestParameter[]; maximumBytesBilled?: string };
    const sql = queryConfig.query ?? '';
    const parameters = queryConfig.queryParameters ?? [];
    const job: Job = {
      id: reference.jobId ?? `job_${++sequence}`,
      projectId,
      location: reference.location,
      configuration,
      state: 'RUNNING',
      error: undefined,
      result: undefined,
      cancelled: false,
      connection: undefined,
      done: Promise.resolve(),
      bytes: 0,
      schema: undefined,
    };
    jobs.set(job.id, job);
    job.done = (async () => {
      try {
        if (job.location !== undefined && job.location !== location)
          throw new BigqueryLikeError(404, 'notFound', `Not found: Dataset was not found in location ${job.location}`);
        if (configuration.dryRun) {
          await engine.validate(sql, parameters);
          job.bytes = await engine.estimateBytes(sql);
          job.schema = await engine.querySchema(sql, parameters);
          return;
        }
        if (queryConfig.maximumBytesBilled !== undefined) checkBytesBilled(queryConfig.maximumBytesBilled, await engine.estimateBytes(sql));
        const slow = takeFault('slow', (f) => f.sql.test(sql));
        if (slow) await waitOrCancel(job, slow.ms);
        const jobError = takeFault('jobError', (f) => f.sql.test(sql));
        if (jobError) throw new BigqueryLikeError(statusOfReason(jobError.reason), jobError.reason, jobError.message ?? `injected ${jobError.reason}`);
        const between = takeFault('failBetween', (f) => f.sql.test(sql));
        job.result = await engine.runScript(sql, parameters, {
          beforeStatement: (index) => {
            if (between && index === between.beforeStatement)
              throw new BigqueryLikeError(500, between.reason, `injected ${between.reason} before statement ${index}`);
          },
          isCancelled: () => job.cancelled,
          onConnection: (connection) => (job.connection = connection),
        });
        job.bytes = 0;
      } catch (error) {
        job.error = error instanceof BigqueryLikeError ? error : new BigqueryLikeError(500, 'internalError', String(error));
      } finally {
        job.state = 'DONE';
      }
    })();
    return job;
  }

  function jobResource(job: Job): Record<string, unknown> {
    const status: Record<string, unknown> = { state: job.state };
    if (job.error) {
      const errorResult = { reason: job.error.reason, message: job.error.message, location: 'query' };
      status.errorResult = errorResult;
      status.errors = [errorResult];
    }
    const bytes = String(job.bytes);
    return {
      kind: 'bigquery#job',
      id: `${job.projectId}:${job.location ?? location}.${job.id}`,
      jobReference: { projectId: job.projectId, jobId: job.id, location: job.location ?? location },
      configuration: job.configuration,
      status,
      statistics: {
        totalBytesProcessed: bytes,
        query: { totalBytesProcessed: bytes, statementType: job.result?.statementType ?? 'SELECT', ...(job.schema ? { schema: { fields: job.schema } } : {}) },
      },
    };
  }

  function queryResults(job: Job): Record<string, unknown> {
    const reference = { projectId: job.projectId, jobId: job.id, location: job.location ?? location };
    if (job.state !== 'DONE') return { kind: 'bigquery#getQueryResultsResponse', jobReference: reference, jobComplete: false };
    if (job.error) throw job.error;
    const result = job.result ?? { fields: [], rows: [], statementType: 'SELECT' };
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: reference,
      jobComplete: true,
      schema: { fields: result.fields },
      rows: result.rows.map((row) => ({ f: row.map((v) => ({ v })) })),
      totalRows: String(result.rows.length),
      totalBytesProcessed: String(job.bytes),
    };
  }

  async function waitFor(job: Job, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([job.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async function route(method: string, path: string, query: Record<string, string>, body: unknown): Promise<[number, unknown]> {
    const bodyQuery = JSON.stringify(
      (body as { configuration?: { query?: { query?: string } } } | undefined)?.configuration?.query?.query ??
        (body as { query?: string } | undefined)?.query ??
        '',
    );
    const fault = takeFault(
      'http',
      (f) => (f.method === undefined || f.method === method) && f.path.test(path) && (f.sql === undefined || f.sql.test(bodyQuery)),
    );
    if (fault) throw new BigqueryLikeError(fault.status, fault.reason, `injected ${fault.reason}`);
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/jobs$/.exec(path))) {
      checkLabels((body as { configuration?: { labels?: unknown } } | undefined)?.configuration?.labels);
      // Job ids are unique per project: a second insert with a known id starts nothing (409 duplicate).
      const requested = (body as { jobReference?: { jobId?: string } } | undefined)?.jobReference?.jobId;
      const seen = requested === undefined ? undefined : jobs.get(requested);
      if (seen) throw new BigqueryLikeError(409, 'duplicate', `Already Exists: Job ${m[1] ?? ''}:${seen.location ?? location}.${seen.id}`);
      const job = startJob(m[1] ?? '', body as Record<string, unknown>);
      if ((job.configuration as { dryRun?: boolean }).dryRun) await job.done;
      if (job.error && (job.configuration as { dryRun?: boolean }).dryRun) throw job.error;
      return [200, jobResource(job)];
    }
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/queries$/.exec(path))) {
      const request = body as { query: string; location?: string; timeoutMs?: number; queryParameters?: RestParameter[]; dryRun?: boolean };
      const job = startJob(m[1] ?? '', {
        jobReference: { location: request.location },
        configuration: { query: { query: request.query, queryParameters: request.queryParameters }, dryRun: request.dryRun },
      });
      await waitFor(job, request.timeoutMs ?? 10_000);
      return [200, queryResults(job)];
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(path))) {
      const job = jobs.get(m[2] ?? '');
      if (!job) throw new BigqueryLikeError(404, 'notFound', `Not found: Job ${m[1]}:${m[2]}`);
      await waitFor(job, Number(query.timeoutMs ?? 10_000));
      return [200, queryResults(job)];
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(path))) {
      const job = jobs.get(m[2] ?? '');
      if (!job) throw new BigqueryLikeError(404, 'notFound', `Not found: Job ${m[1]}:${m[2]}`);
      return [200, jobResource(job)];
    }
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/jobs\/([^/]+)\/cancel$/.exec(path))) {
      const job = jobs.get(m[2] ?? '');
      if (!job) throw new BigqueryLikeError(404, 'notFound', `Not found: Job ${m[1]}:${m[2]}`);
      if (job.state !== 'DONE') {
        job.cancelled = true;
        job.connection?.interrupt();
      }
      return [200, { kind: 'bigquery#jobCancelResponse', job: jobResource(job) }];
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(path))) {
      const info = await engine.tableInfo(m[2] ?? '', m[3] ?? '');
      if (!info) throw new BigqueryLikeError(404, 'notFound', `Not found: Table ${m[1]}:${m[2]}.${m[3]}`);
      return [
        200,
        {
          kind: 'bigquery#table',
          id: `${m[1]}:${m[2]}.${m[3]}`,
          tableReference: { projectId: m[1], datasetId: m[2], tableId: m[3] },
          schema: { fields: info.fields },
          numRows: String(info.rows),
          location,
          ...(info.partitionColumn
            ? {
                timePartitioning: {
                  type: info.granularity,
                  field: info.partitionColumn,
                  ...(info.expirationMs !== undefined ? { expirationMs: String(info.expirationMs) } : {}),
                },
              }
            : {}),
          ...(info.streamingBuffer
            ? { streamingBuffer: { estimatedRows: String(info.streamingBuffer.rows), oldestEntryTime: String(info.streamingBuffer.oldestMs) } }
            : {}),
        },
      ];
    }
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/.exec(path))) {
      const rows = ((body as { rows?: { json?: Record<string, unknown> }[] } | undefined)?.rows ?? []).map((r) => r.json ?? {});
      await engine.streamRows(m[2] ?? '', m[3] ?? '', rows);
      return [200, { kind: 'bigquery#tableDataInsertAllResponse' }];
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(path))) {
      if (!(await engine.datasetExists(m[2] ?? ''))) throw new BigqueryLikeError(404, 'notFound', `Not found: Dataset ${m[1]}:${m[2]}`);
      return [200, { kind: 'bigquery#dataset', id: `${m[1]}:${m[2]}`, datasetReference: { projectId: m[1], datasetId: m[2] }, location }];
    }
    // A stand-in OAuth token endpoint (a service-account key's token_uri may point here).
    if (method === 'POST' && path === '/token') return [200, { access_token: 'loopback-access-token', token_type: 'Bearer', expires_in: 3600 }];
    throw new BigqueryLikeError(404, 'notFound', `the test server does not serve ${method} ${path}`);
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        const prefixed = url.pathname.startsWith('/bigquery/v2/');
        const path = prefixed ? url.pathname.slice('/bigquery/v2'.length) : url.pathname;
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        log.push({ method: request.method ?? 'GET', path, prefixed, query: Object.fromEntries(url.searchParams), body, headers: request.headers });
        // Off stdout and off by default (a suite run prints no request lines); BQ_SERVER_LOG=1 shows them on stderr.
        if (process.env.BQ_SERVER_LOG) process.stderr.write(`bq-server: ${request.method ?? 'GET'} ${url.pathname}${url.search}\n`);
        let status: number;
        let payload: unknown;
        const method = request.method ?? 'GET';
        const drop = takeFault(
          'drop',
          (f) => (f.method === undefined || f.method === method) && f.path.test(path) && (f.sql === undefined || f.sql.test(JSON.stringify(body ?? ''))),
        );
        try {
          [status, payload] = await route(request.method ?? 'GET', path, Object.fromEntries(url.searchParams), body);
        } catch (error) {
          const e = error instanceof BigqueryLikeError ? error : new BigqueryLikeError(500, 'internalError', String(error));
          status = e.code;
          payload = {
            error: { code: e.code, message: e.message, errors: [{ reason: e.reason, message: e.message, domain: 'global' }], status: statusName(e.code) },
          };
        }
        if (drop) {
          request.socket.destroy();
          return;
        }
        response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        response.end(JSON.stringify(payload));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    engine,
    log,
    faults,
    jobs: () =>
      [...jobs.values()].map((j) => ({
        id: j.id,
        location: j.location,
        configuration: j.configuration,
        state: j.state,
        ...(j.error ? { error: `${j.error.reason}: ${j.error.message}` } : {}),
      })),
    exec: (sql) => engine.runScript(sql, []),
    stream: (dataset, table, rows) => engine.streamRows(dataset, table, rows),
    flushStreamingBuffer: () => engine.flushStreamingBuffer(),
    close: async () => {
      for (const job of jobs.values()) {
        job.cancelled = true;
        job.connection?.interrupt();
      }
      await Promise.all([...jobs.values()].map((j) => j.done));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      engine.close();
    },
  };
}

async function waitOrCancel(job: Job, ms: number): Promise<void> {
  const step = 20;
  for (let waited = 0; waited < ms; waited += step) {
    if (job.cancelled) throw new BigqueryLikeError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}

/** The HTTP status BigQuery pairs with an error reason (https://cloud.google.com/bigquery/docs/error-messages). */
function statusOfReason(reason: string): number {
  if (['rateLimitExceeded', 'quotaExceeded', 'accessDenied', 'billingNotEnabled'].includes(reason)) return 403;
  if (reason === 'notFound') return 404;
  if (['backendError', 'internalError', 'jobBackendError', 'jobInternalError'].includes(reason)) return 500;
  return 400;
}

function statusName(code: number): string {
  if (code === 404) return 'NOT_FOUND';
  if (code === 403) return 'PERMISSION_DENIED';
  if (code === 429) return 'RESOURCE_EXHAUSTED';
  if (code === 409) return 'ALREADY_EXISTS';
  if (code >= 500) return 'INTERNAL';
  return 'INVALID_ARGUMENT';
}
