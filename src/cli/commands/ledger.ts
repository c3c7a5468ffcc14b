/**
 * `dag ledger compact [--target T] [--wait D]`: the ledger's `partitions` table is append-only (every
 * build adds rows, readers take the latest per partition), so its history grows with every run and a
 * BigQuery plan bills what it scans. Compacting keeps only each partition's latest row — the one
 * every read takes, so no plan changes — under the run lock, so no run writes meanwhile.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { UserError } from '../../core/diagnostics.js';
import { acquireRunLock, parseWaitDuration } from '../../runner/lock.js';
import { newRunId } from '../../runner/run-id.js';
import type { LockOwner } from '../../warehouse/port.js';
import { processStartTime } from '../../warehouse/process.js';
import { verbHelp } from '../help.js';
import type { CliIO } from '../io.js';
import { loadAndSelect, openTarget, printWarnings } from '../prepare.js';

interface CompactFlags {
  readonly target?: string;
  readonly pipeline?: string;
  readonly wait: string;
}

export function registerLedger(program: Command, io: CliIO): void {
  const command = program
    .command('ledger')
    .description("maintain the target's ledger (the `_dag` dataset or schema): compact keeps only each partition's latest row, under the run lock")
    .argument('<ACTION>', 'compact: keep only the latest ledger row of each partition (what every plan reads)')
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--wait <D>', 'how long to wait for a run holding the lock (0, 30s, 5m)', '0')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)');
  verbHelp(command, {
    examples: ['dag ledger compact', 'dag ledger compact --target prod --wait 5m'],
    exitCodes: [
      [0, 'compacted (or nothing to compact)'],
      [2, 'the lock is held, an unknown ACTION, a usage error, or the pipeline or target cannot be read'],
    ],
  });
  command.action(async (action: string, flags: CompactFlags) => {
    if (action !== 'compact') throw new UserError(`dag ledger has no action '${action}'`, 2, 'the one action is compact: dag ledger compact');
    io.doing = 'compacting the ledger';
    const waitMs = parseWaitDuration(flags.wait);
    if (waitMs === undefined) throw new UserError(`--wait '${flags.wait}' is not a duration`, 2, 'write e.g. --wait 30s, --wait 5m or --wait 0');
    const loaded = await loadAndSelect(io, flags);
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, false, true);
    try {
      if (!warehouse.compactLedger) {
        io.stdout(`dag: target '${loaded.targetName}' keeps its ledger compact itself: nothing to do\n`);
        return;
      }
      const processStart = processStartTime(process.pid);
      const owner: LockOwner = {
        runId: newRunId(Date.now(), Math.random),
        pid: process.pid,
        host: hostname(),
        since: Date.now(),
        commandLine: io.argv.join(' '),
        ...(processStart ? { processStart } : {}),
      };
      io.doing = `waiting for the lock of target '${loaded.targetName}'`;
      await acquireRunLock(warehouse, owner, waitMs);
      try {
        io.doing = 'compacting the ledger';
        const { before, after } = await warehouse.compactLedger(loaded.pipeline);
        io.stdout(`dag: compacted the ledger of target '${loaded.targetName}': ${before} rows → ${after} (${before - after} superseded rows removed)\n`);
      } finally {
        await warehouse.releaseLock(owner);
      }
    } finally {
      await warehouse.close();
    }
  });
}
