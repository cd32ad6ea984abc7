/** Retry delays: exponential from `minMs`, capped at `maxMs`, with jitter. */
export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  minMs: number;
  /** Longest delay, ms. Default 30 000. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 500, maxMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): min·2^attempt capped at max, then
 * scaled into [50 %, 100 %] so many gateways (or destinations) do not retry in step.
 */
export function backoffDelay(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(o.maxMs, o.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp * (0.5 + random() / 2));
}
