/**
 * Credentials are never printed or logged: a fake service-account key file carrying a recognizable
 * secret (a line of a throwaway RSA key) is given to the adapter; no error message, server log entry
 * or console output contains it. What this cannot test offline: a successful token exchange.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startBqServer, type BqServer } from './bq-server/server.js';
import { loadTestPipeline, seedGames } from './bigquery-helpers.js';
import { openBigquery } from '../src/warehouse/bigquery/index.js';

import { generateKeyPairSync } from 'node:crypto';

// A real (throwaway) RSA key so the client can sign; one line of its body is the secret to look for.
const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SECRET = PRIVATE_KEY.split('\n')[3] ?? 'unreachable';
let server: BqServer;

beforeAll(async () => {
  server = await startBqServer();
});
afterAll(async () => {
  await server.close();
});

it('never shows key-file material in errors, console output or requests', async () => {
  await seedGames(server, ['2021-11-01']);
  const { pipeline, dir } = await loadTestPipeline(server);
  const keyFile = join(dir, 'key.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'key-1',
      private_key: PRIVATE_KEY,
      client_email: `dag@test-project.iam.gserviceaccount.com`,
      client_id: '1',
      token_uri: `${server.url}/token`,
    }),
  );
  const target = pipeline.targets.get('bq');
  if (target?.type !== 'bigquery') throw new Error('no target');
  const printed: string[] = [];
  const spies = (['log', 'error', 'warn', 'info', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' '))),
  );
  const warehouse = await openBigquery({ ...target, keyFile }, { env: {}, readOnly: true });
  let message = '';
  try {
    await warehouse.readSnapshot(pipeline, ['games']);
    message = 'no error';
  } catch (error) {
    message = `${String(error)} ${(error as { hint?: string }).hint ?? ''} ${(error as Error).stack ?? ''}`;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  expect(message).not.toContain(SECRET);
  expect(printed.join('\n')).not.toContain(SECRET);
  expect(JSON.stringify(server.log)).not.toContain(SECRET);
  // The client signs with the key, then cannot fetch a token (google-auth ignores token_uri and this
  // machine has no route to oauth2.googleapis.com): the user sees one honest line, no key material.
  expect(message).toMatch(/cannot read BigQuery target 'bq'/);
});
