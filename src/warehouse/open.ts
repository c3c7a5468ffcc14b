/** Opens the adapter for a target by its type; the only place that knows every adapter. */
import type { Pipeline, Target } from '../core/model.js';
import { UserError } from '../core/diagnostics.js';
import type { Warehouse } from './port.js';

export interface OpenOptions {
  /** Environment for credentials (GOOGLE_APPLICATION_CREDENTIALS, BIGQUERY_EMULATOR_HOST...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Plans only read: adapters may open read-only. */
  readonly readOnly: boolean;
  /**
   * `dag run`: the target's lock is taken before anything else touches it, so adapters whose storage
   * admits one writer (a DuckDB file) may defer opening until acquireLock succeeds or first use.
   */
  readonly lockFirst?: boolean;
  /**
   * The process exits right after close() (the CLI's read-only commands): a read-only adapter may
   * leave freeing what it holds to the exit instead of doing it on close.
   */
  readonly processExits?: boolean;
}

export function resolveTargetName(pipeline: Pipeline, requested: string | undefined): string {
  const name = requested ?? pipeline.defaultTarget;
  if (!pipeline.targets.has(name)) {
    const known = [...pipeline.targets.keys()].join(', ');
    throw new UserError(`unknown target '${name}'; pipeline.yaml defines: ${known}`, 2, 'pass --target with one of those names');
  }
  return name;
}

export async function openWarehouse(pipeline: Pipeline, targetName: string, options: OpenOptions): Promise<Warehouse> {
  const target = pipeline.targets.get(resolveTargetName(pipeline, targetName));
  if (!target) throw new Error(`target ${targetName} vanished`);
  switch (target.type) {
    case 'duckdb': {
      const { openDuckdb } = await import('./duckdb/index.js');
      return openDuckdb(target, options);
    }
    case 'bigquery': {
      const { openBigquery } = await import('./bigquery/index.js');
      return openBigquery(target, options);
    }
  }
}

/**
 * Starts opening a target read-only before its pipeline is fully loaded; the next read-only
 * openWarehouse of it takes what was started. Best effort: it never throws (an open that fails fails
 * again, with its error, when the command opens the target). Only DuckDB files gain from it: attaching
 * one loads its catalog on DuckDB's thread (2,001 tables: ~200 ms) while loading goes on.
 */
export async function prefetchReadOnly(target: Target, env: OpenOptions['env']): Promise<void> {
  if (target.type !== 'duckdb') return;
  try {
    const { prefetchDuckdb } = await import('./duckdb/index.js');
    await prefetchDuckdb(target, env);
  } catch {
    // Opened again, and reported, by openWarehouse.
  }
}
