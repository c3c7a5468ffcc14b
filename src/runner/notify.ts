/**
 * Webhook notifications: the JSON summary at the end of every run, and in daily mode one post per
 * failure as it happens. A webhook that fails is a warning for the operator, never a failed run.
 */
import type { Pipeline } from '../core/model.js';
import { redactUrl, redactUrlsIn } from '../core/redact.js';

/** Posts JSON; resolves to an error message or undefined. Tests and the CLI pass postJson. */
export type Poster = (url: string, body: unknown) => Promise<string | undefined>;

export async function postJson(url: string, body: unknown, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'dag' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    return response.ok ? undefined : `HTTP ${response.status} ${response.statusText}`.trim();
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error instanceof Error ? error.message : String(error)}${cause}`;
  }
}

/** Every distinct webhook of the pipeline and of the given processors, pipeline's first. */
export function webhooksOf(pipeline: Pipeline, processors: readonly string[]): string[] {
  const urls: string[] = [];
  const add = (url: string | undefined) => {
    if (url && !urls.includes(url)) urls.push(url);
  };
  add(pipeline.notify?.webhook);
  for (const name of processors) {
    const node = pipeline.nodes.get(name);
    if (node?.kind === 'processor') add(node.notify?.webhook);
  }
  return urls;
}

/** The webhook for one processor's failures: its own, else the pipeline's. */
export function webhookFor(pipeline: Pipeline, processor: string): string | undefined {
  const node = pipeline.nodes.get(processor);
  return (node?.kind === 'processor' ? node.notify?.webhook : undefined) ?? pipeline.notify?.webhook;
}

/**
 * Posts to each URL; returns one warning per URL that failed. The URL is redacted, and so is any URL
 * the error quotes (fetch names the whole URL when it refuses one).
 */
export async function notifyAll(post: Poster, urls: readonly string[], body: unknown): Promise<string[]> {
  const warnings: string[] = [];
  for (const url of urls) {
    const error = await post(url, body);
    if (error) warnings.push(`webhook ${redactUrl(url)} failed: ${redactUrlsIn(error)}`);
  }
  return warnings;
}
