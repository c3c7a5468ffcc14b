/**
 * What a committed batch of this process established about a processor's SELECT — that its columns
 * fit the table (and, on BigQuery, which they are) — keyed by processor and SQL template. Every batch
 * of a processor yields the same columns (only date literals differ), and dag holds the target's lock,
 * so later batches of the run skip the schema check.
 */
export class CheckedSelects<V> {
  private readonly entries = new Map<string, V>();

  static key(processor: string, text: string): string {
    return `${processor}\u0000${text}`;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  /** The processor's table was dropped (--full-refresh): its next batch checks (and creates) again. */
  forget(processor: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${processor}\u0000`)) this.entries.delete(key);
  }
}
