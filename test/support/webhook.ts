/** A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it (webhook tests). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookServer {
  readonly url: string;
  /** Bodies received so far, parsed, in arrival order. */
  readonly posts: unknown[];
  /** Per post, what `observe` said when it arrived (in the order of `posts`). */
  readonly observed: unknown[];
  /** The most requests the server held at once (a request counts from its arrival to its answer). */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

export interface WebhookOptions {
  /** Answer each request this long after it arrived (so a client's concurrency shows). */
  readonly delayMs?: number;
  /** Called as each post arrives; its value is kept in `observed` (e.g. whether a lock file exists). */
  readonly observe?: () => unknown;
}

/** Starts a server answering every POST with `status` (200 unless told). */
export async function startWebhookServer(status = 200, options: WebhookOptions = {}): Promise<WebhookServer> {
  const posts: unknown[] = [];
  const observed: unknown[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((request, response) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        posts.push(JSON.parse(body));
      } catch {
        posts.push({ unparsable: body });
      }
      observed.push(options.observe?.());
      setTimeout(() => {
        inFlight -= 1;
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/dag`,
    posts,
    observed,
    get maxInFlight() {
      return maxInFlight;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
