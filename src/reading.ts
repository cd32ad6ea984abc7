/** One verified update from a board: what the handler stores in the rrd and hands to the destinations. */
export interface Reading {
  readonly clientId: string;
  /** When the gateway accepted it, Unix milliseconds. */
  readonly timeMs: number;
  /** Source name → value; null is rrdtool's `U` (unknown). */
  readonly values: ReadonlyMap<string, number | null>;
}

/**
 * Where verified readings go besides the rrd: the destinations. The gateway hands every
 * verified reading over, whether or not its rrd write succeeded.
 */
export interface ReadingSink {
  publish(reading: Reading): void;
  close(): Promise<void>;
}
