/** A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it (webhook tests). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookServer {
  readonly url: string;
  /** Bodies received so far, parsed, in arrival order. */
  readonly posts: unknown[];
  close(): Promise<void>;
}

/** Starts a server answering every POST with `status` (200 unless told). */
export async function startWebhookServer(status = 200): Promise<WebhookServer> {
  const posts: unknown[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        posts.push(JSON.parse(body));
      } catch {
        posts.push({ unparsable: body });
      }
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/dag`,
    posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
