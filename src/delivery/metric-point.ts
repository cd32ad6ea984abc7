import type { Reading } from '../reading.ts';

/**
 * One value of one reading, as every destination receives it. Plain data, so the
 * spool can write it to disk and read it back.
 */
export interface MetricPoint {
  readonly clientId: string;
  /** The key the board sent (`temperature`). */
  readonly source: string;
  /** null is `U` (unknown). */
  readonly value: number | null;
  /** Unix milliseconds when the gateway accepted the reading. */
  readonly timeMs: number;
}

export function pointsOf(reading: Reading): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (const [source, value] of reading.values) out.push({ clientId: reading.clientId, source, value, timeMs: reading.timeMs });
  return out;
}
