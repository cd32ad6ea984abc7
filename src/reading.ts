/** One verified update from a board: what the pipeline stores and re-emits. */
export interface Reading {
  readonly clientId: string;
  /** When the gateway accepted it, Unix milliseconds. */
  readonly timeMs: number;
  /** Source name → value; null is rrdtool's `U` (unknown). */
  readonly values: ReadonlyMap<string, number | null>;
}
