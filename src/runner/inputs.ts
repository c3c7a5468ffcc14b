/**
 * What a batch reads, as versions and times: the input fingerprint the ledger records per partition,
 * and the latest input time, which the batch's builtAt must exceed (make-style freshness).
 */
import type { Day } from '../core/dates.js';
import type { Processor } from '../core/model.js';
import type { RunContext } from './attempt.js';
import { partitionKey } from './jobs.js';
import type { InputVersion } from './types.js';

export interface BatchInputs {
  /** The latest known time of anything read; -Infinity when nothing has a known time. */
  readonly latest: number;
  readonly fingerprints: ReadonlyMap<Day, string>;
}

export function inputsFor(context: RunContext, processor: Processor, days: readonly Day[]): BatchInputs {
  const { options } = context;
  let latest = -Infinity;
  const fingerprints = new Map<Day, string>();
  for (const day of days) {
    const versions: InputVersion[] = [];
    for (const upstream of options.inputsOf(processor, day))
      for (const upstreamDay of upstream.days) {
        const read = versionOf(context, upstream.upstream, upstreamDay);
        versions.push({ upstream: upstream.upstream, day: upstreamDay, version: read.version });
        if (read.time !== undefined && read.time > latest) latest = read.time;
      }
    fingerprints.set(day, options.inputFingerprint(versions));
  }
  return { latest, fingerprints };
}

function versionOf(context: RunContext, node: string, day: Day): { version: string; time: number | undefined } {
  const builtNow = context.built.get(partitionKey(node, day));
  if (builtNow) return { version: `${context.options.runId}:${builtNow.builtAt}:${builtNow.rows}`, time: builtNow.builtAt };
  const entry = context.options.snapshot.ledger.get(node)?.get(day);
  if (entry) return { version: `${entry.runId}:${entry.builtAt}:${entry.rows}`, time: entry.builtAt };
  const info = context.options.snapshot.tables.get(node)?.partitions.get(day);
  if (!info) return { version: 'absent', time: undefined };
  // Infinity: a source version dag had not seen; the run records it at runStart before building.
  const time = info.changedAt === Infinity ? context.runStart : info.changedAt;
  return { version: info.version, time };
}
