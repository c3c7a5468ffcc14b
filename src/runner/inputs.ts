/**
 * What a batch reads, as times and versions: the latest input time, which the batch's builtAt must
 * exceed (make-style freshness), and per partition the input fingerprint the ledger records.
 */
import type { Day } from '../core/dates.js';
import type { Processor } from '../core/model.js';
import { firstLine } from '../warehouse/shared.js';
import type { RunContext } from './attempt.js';

export interface BatchInputs {
  /** The latest known time of anything read; -Infinity when nothing has a known time. */
  readonly latest: number;
  /** Pending while the run still computes source versions (RunContext.sourceVersions). */
  readonly fingerprints: ReadonlyMap<Day, string> | Promise<ReadonlyMap<Day, string>>;
}

export function inputsFor(context: RunContext, processor: Processor, days: readonly Day[]): BatchInputs {
  const { options, live } = context;
  let latest = -Infinity;
  for (const day of days)
    for (const upstream of options.inputsOf(processor, day))
      for (const upstreamDay of upstream.days) {
        const time = timeOf(context, upstream.upstream, upstreamDay);
        if (time !== undefined && time > latest) latest = time;
      }
  const fingerprints = (): ReadonlyMap<Day, string> => new Map(days.map((day) => [day, options.inputFingerprint(processor, day, live)]));
  const pending = context.sourceVersions;
  if (!pending || !processor.upstream.some((upstream) => pending.sources.has(upstream.name))) return { latest, fingerprints: fingerprints() };
  const later = pending.recorded.then(
    (failed) => {
      const broken = processor.upstream.find((upstream) => failed.has(upstream.name));
      if (broken) throw new Error(`could not record the versions of source '${broken.name}', which it reads: ${failed.get(broken.name)}`);
      return fingerprints();
    },
    (error: unknown) => {
      throw new Error(`could not record the versions of the sources it reads: ${firstLine(error)}`);
    },
  );
  // A batch that fails before it needs them never awaits this: its rejection is not an error here.
  later.catch(() => undefined);
  return { latest, fingerprints: later };
}

/** time(u) of the versions semantics: ledger builtAt, else the warehouse's changedAt. */
function timeOf(context: RunContext, node: string, day: Day): number | undefined {
  const entry = context.live.ledger.get(node)?.get(day);
  if (entry) return entry.builtAt;
  const changedAt = context.live.tables.get(node)?.partitions.get(day)?.changedAt;
  // Infinity: a source version dag had not seen; the run records it at runStart before building.
  return changedAt === Infinity ? context.runStart : changedAt;
}
