/**
 * What a batch reads, as times and versions: the latest input time, which the batch's builtAt must
 * exceed (make-style freshness), and per partition the input fingerprint the ledger records. Source
 * versions the snapshot left pending are recorded while the first batches run; a batch reading such a
 * source waits for them in its `waiting-inputs` step before it writes a ledger row.
 */
import type { Day } from '../core/dates.js';
import type { Processor } from '../core/model.js';
import type { InputFingerprints, JobFailure } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import type { RunContext } from './context.js';

/** The latest known time of anything the days read; -Infinity when nothing has a known time. */
export function latestInput(context: RunContext, processor: Processor, days: readonly Day[]): number {
  let latest = -Infinity;
  for (const day of days)
    for (const upstream of context.options.inputsOf(processor, day))
      for (const upstreamDay of upstream.days) {
        const time = timeOf(context, upstream.upstream, upstreamDay);
        if (time !== undefined && time > latest) latest = time;
      }
  return latest;
}

/** The ledger's input fingerprints, from the live view (call once the source versions it reads are in). */
export function fingerprintsOf(context: RunContext, processor: Processor, days: readonly Day[]): InputFingerprints {
  return new Map(days.map((day) => [day, context.options.inputFingerprint(processor, day, context.live)]));
}

/** Whether the processor reads a source whose versions the run is still recording. */
export function readsPendingSources(context: RunContext, processor: Processor): boolean {
  const pending = context.sourceVersions;
  return pending !== undefined && processor.upstream.some((upstream) => pending.sources.has(upstream.name));
}

/**
 * Waits until the versions of the sources the processor reads are recorded; the failure when they
 * could not be (every batch of the processor fails alike: data-independent).
 */
export async function sourceVersionsRecorded(context: RunContext, processor: Processor): Promise<JobFailure | undefined> {
  const pending = context.sourceVersions;
  if (!pending || !readsPendingSources(context, processor)) return undefined;
  try {
    const failed = await pending.recorded;
    const broken = processor.upstream.find((upstream) => failed.has(upstream.name));
    if (broken)
      return {
        category: 'PROCESSOR_ERROR',
        message: `could not record the versions of source '${broken.name}', which it reads: ${failed.get(broken.name)}`,
        dataIndependent: true,
      };
    return undefined;
  } catch (error) {
    if (context.options.signal.aborted)
      return { category: 'CANCELLED', message: 'the run was cancelled while the versions of the sources it reads were being recorded' };
    return { category: 'PROCESSOR_ERROR', message: `could not record the versions of the sources it reads: ${firstLine(error)}`, dataIndependent: true };
  }
}

/** time(u) of the versions semantics: ledger builtAt, else the warehouse's changedAt. */
function timeOf(context: RunContext, node: string, day: Day): number | undefined {
  const entry = context.live.ledger.get(node)?.get(day);
  if (entry) return entry.builtAt;
  const changedAt = context.live.tables.get(node)?.partitions.get(day)?.changedAt;
  // Infinity: a source version dag had not seen; the run records it at runStart before building.
  return changedAt === Infinity ? context.runStart : changedAt;
}
