/** `targets:` and `default_target:` resolved to model Targets (paths absolute, defaults filled). */
import { resolve } from 'node:path';
import { didYouMean } from '../core/did-you-mean.js';
import { DEFAULTS, type Target } from '../core/model.js';
import { CODES } from './codes.js';
import { isRecord, optionalString } from './document.js';
import { parseDuration } from './values.js';
import type { Reporter } from './report.js';

export interface ResolvedTargets {
  readonly targets: ReadonlyMap<string, Target>;
  readonly defaultTarget: string;
}

function resolveTarget(name: string, raw: Record<string, unknown>, baseDir: string, pipelineName: string): Target | undefined {
  if (raw.type === 'duckdb') {
    const path = optionalString(raw.path) ?? `.dag/${pipelineName}.duckdb`;
    return {
      type: 'duckdb',
      name,
      path: path === ':memory:' ? path : resolve(baseDir, path),
      ledgerSchema: optionalString(raw.ledger_schema) ?? DEFAULTS.ledgerSchema,
    };
  }
  if (raw.type === 'bigquery') {
    const labels: Record<string, string> = {};
    if (isRecord(raw.labels)) for (const [k, v] of Object.entries(raw.labels)) if (typeof v === 'string') labels[k] = v;
    const keyFile = optionalString(raw.key_file);
    return {
      type: 'bigquery',
      name,
      project: optionalString(raw.project) ?? '',
      location: optionalString(raw.location) ?? 'US',
      ledgerSchema: optionalString(raw.ledger_dataset) ?? DEFAULTS.ledgerSchema,
      maximumBytesBilled: typeof raw.maximum_bytes_billed === 'number' ? raw.maximum_bytes_billed : undefined,
      labels,
      jobTimeoutMs: parseDuration(raw.job_timeout),
      keyFile: keyFile === undefined ? undefined : resolve(baseDir, keyFile),
      apiEndpoint: optionalString(raw.api_endpoint),
      pricePerTib: typeof raw.price_per_tib === 'number' ? raw.price_per_tib : DEFAULTS.pricePerTib,
    };
  }
  return undefined; // unknown type: the schema reported it
}

/**
 * Without `targets:` the pipeline gets one implicit target, `dev`, an embedded DuckDB file at
 * .dag/<name>.duckdb next to the pipeline file: a new project runs with no setup at all.
 */
export function resolveTargets(top: Record<string, unknown>, baseDir: string, pipelineName: string, report: Reporter): ResolvedTargets {
  const targets = new Map<string, Target>();
  const explicit = isRecord(top.targets) && Object.keys(top.targets).length > 0 ? top.targets : undefined;
  if (!explicit) {
    targets.set('dev', resolveTarget('dev', { type: 'duckdb' }, baseDir, pipelineName)!);
  } else {
    for (const [name, raw] of Object.entries(explicit)) {
      const target = isRecord(raw) ? resolveTarget(name, raw, baseDir, pipelineName) : undefined;
      if (target) targets.set(name, target);
    }
  }
  const declared = explicit ? Object.keys(explicit) : [...targets.keys()];
  const named = optionalString(top.default_target);
  if (named !== undefined) {
    if (!declared.includes(named)) {
      report.error(
        CODES.unknownDefaultTarget,
        ['default_target'],
        'value',
        `default_target '${named}' names no target${didYouMean(named, declared)}`,
        declared.length > 0 ? `declared targets: ${declared.join(', ')}` : 'declare it under targets:',
      );
    }
    return { targets, defaultTarget: named };
  }
  if (declared.length > 1) {
    report.error(
      CODES.defaultTargetRequired,
      ['targets'],
      'key',
      `there are ${declared.length} targets (${declared.join(', ')}) and no default_target`,
      `add default_target: ${declared[0]} (commands can still pick another with --target)`,
    );
  }
  return { targets, defaultTarget: declared[0] ?? 'dev' };
}
