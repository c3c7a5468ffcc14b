/**
 * The columnar snapshot (src/core/snapshot-columns.ts) holds the same facts as the Map form: its
 * views answer like the Maps they replace, and the planner reading the columns decides exactly what
 * it decides from the Maps, on the property test's random pipelines and warehouse states.
 */
import { describe, expect, it } from 'vitest';
import { plan } from '../src/core/planner.js';
import { columnsFromMaps, InventoryView, LedgerView, type PartitionColumns } from '../src/core/snapshot-columns.js';
import type { LedgerEntry, Snapshot, TableInventory } from '../src/core/snapshot.js';
import type { Day } from '../src/core/dates.js';
import { mulberry32, randomCase } from './support/pipeline-builder.js';

/** The snapshot an adapter filling columns would give: every node columnar, its Maps views of them. */
function columnar(snapshot: Snapshot): Snapshot {
  const names = new Set([...snapshot.tables.keys(), ...snapshot.ledger.keys()]);
  const columns = new Map<string, PartitionColumns>();
  const tables = new Map<string, TableInventory>();
  const ledger = new Map<string, ReadonlyMap<Day, LedgerEntry>>();
  for (const name of names) {
    const table = snapshot.tables.get(name);
    const c = columnsFromMaps(table?.partitions, snapshot.ledger.get(name));
    columns.set(name, c);
    if (table) tables.set(name, { ...table, partitions: new InventoryView(c) });
    if (snapshot.ledger.has(name)) ledger.set(name, new LedgerView(c));
  }
  return { ...snapshot, tables, ledger, columns };
}

describe('columnar snapshot', () => {
  it('plans exactly like the Map form on 400 random pipelines and states', () => {
    let nonFresh = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const c = randomCase(mulberry32(seed));
      const input = { pipeline: c.pipeline, targetName: 'dev', range: c.range, selection: c.selection, today: c.today, force: c.force };
      const fromMaps = plan({ ...input, snapshot: c.snapshot });
      const fromColumns = plan({ ...input, snapshot: columnar(c.snapshot) });
      expect(fromColumns, `seed ${seed}`).toEqual(fromMaps);
      nonFresh += fromMaps.summary.expected - fromMaps.summary.fresh;
    }
    expect(nonFresh).toBeGreaterThan(1000);
  });

  it('views answer get, has, size and iteration like the Maps', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { snapshot } = randomCase(mulberry32(seed));
      const view = columnar(snapshot);
      for (const [name, table] of snapshot.tables) {
        const got = view.tables.get(name)!.partitions;
        expect(got.size).toBe(table.partitions.size);
        expect(new Map(got)).toEqual(new Map([...table.partitions].sort(([a], [b]) => a - b)));
        expect(got.get(-12345)).toBeUndefined();
        expect(got.has(-12345)).toBe(false);
      }
      for (const [name, entries] of snapshot.ledger) {
        const got = view.ledger.get(name)!;
        expect([...got.keys()]).toEqual([...entries.keys()].sort((a, b) => a - b));
        for (const [d, entry] of entries)
          expect(got.get(d)).toEqual({ runId: entry.runId, builtAt: entry.builtAt, rows: entry.rows, codeFingerprint: entry.codeFingerprint });
      }
    }
  });
});
