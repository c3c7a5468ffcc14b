/**
 * Runs one task per key at a time, in arrival order; tasks of different keys run side by side. The
 * adapters key it by table: BigQuery serialises every writer of a table (concurrent mutating
 * transactions on one table abort each other), DuckDB the batches that may still alter one.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
