/**
 * The test rig: runs the real `dag` binary (bin/dag.js → dist/bundle/dag.cjs, built by `npm test` before vitest)
 * as a child process in a temp folder, the way a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const dagBin = join(projectRoot, 'bin', 'dag.js');

export interface DagResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

/** Runs `dag ...args` to completion. NO_COLOR is set unless the caller overrides env. */
export function runDag(args: readonly string[], options: RunOptions): Promise<DagResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [dagBin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Folders tempProject made in this test file; test/support/cleanup.ts removes them after the file. */
const made: string[] = [];

export function removeTempProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temp folder, optionally filled with files (paths relative to it; folders are created). Removed after the test file. */
export function tempProject(files: Readonly<Record<string, string>> = {}, prefix = 'dag-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  return dir;
}

/** Things that look like a stack trace or an unhandled rejection: never shown to a user. */
export function looksLikeStackTrace(text: string): boolean {
  return /\n\s+at .+\(.+:\d+:\d+\)|\n\s+at .+:\d+:\d+|UnhandledPromiseRejection|node:internal/.test(text);
}
