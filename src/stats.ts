/**
 * Counters (updates stored, errors by code, …) and gauges (queue depths) for logs,
 * `list` and benchmarks. A gauge is read when a snapshot is taken, so a snapshot's
 * counters and gauges describe one instant.
 */
export class Stats {
  readonly #counts = new Map<string, number>();
  readonly #gauges = new Map<string, () => number>();

  count(name: string, by = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + by);
  }

  /** Registers a value read at each snapshot (e.g. points waiting in memory). */
  gauge(name: string, read: () => number): void {
    this.#gauges.set(name, read);
  }

  get(name: string): number {
    const gauge = this.#gauges.get(name);
    return gauge ? gauge() : (this.#counts.get(name) ?? 0);
  }

  snapshot(): Record<string, number> {
    const all: Array<[string, number]> = [...this.#counts, ...[...this.#gauges].map(([k, read]): [string, number] => [k, read()])];
    return Object.fromEntries(all.sort(([a], [b]) => a.localeCompare(b)));
  }
}
