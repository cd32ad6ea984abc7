/**
 * The stamps a gateway gives readings: the wall clock while it moves forward, and, while the
 * wall clock is behind a stamp already given (it stepped back, or the gateway started with a
 * clock behind its files, as a Raspberry Pi does after a power cut), the last stamp advanced at
 * the monotonic clock's pace until the wall clock catches up. A step forward is followed: it
 * leaves an honest gap. Pure: the caller reads the clocks and keeps the state.
 */

/** Where the stamps stand. */
export interface StampState {
  /** The last stamp given (ms since the epoch); no stamp is ever below it. */
  readonly lastMs: number;
  /** Set while stamps follow the monotonic clock: the stamp and monotonic time they count from. */
  readonly held?: { readonly fromMs: number; readonly monoMs: number };
}

/** What a stamp told about the clock, for the one log line each deserves. */
export type ClockEvent =
  /** The wall clock is `behindMs` behind the last stamp: stamps go on from it. */
  | { kind: 'behind'; behindMs: number }
  /** The wall clock reached the stamps again: they follow it. */
  | { kind: 'caught-up'; heldMs: number };

export interface Stamp {
  readonly state: StampState;
  readonly stampMs: number;
  readonly event?: ClockEvent;
}

/** A state that gives no stamp below `floorMs` (what the last run reserved; 0: none). */
export function startState(floorMs: number): StampState {
  return { lastMs: floorMs };
}

/** The next stamp, for wall time `wallMs` and monotonic time `monoMs` (both in ms). */
export function nextStamp(state: StampState, wallMs: number, monoMs: number): Stamp {
  const wall = Math.floor(wallMs);
  const { held } = state;
  if (held !== undefined) {
    const followed = Math.max(state.lastMs, Math.floor(held.fromMs + (monoMs - held.monoMs)));
    if (wall < followed) return { state: { lastMs: followed, held }, stampMs: followed };
    return { state: { lastMs: wall }, stampMs: wall, event: { kind: 'caught-up', heldMs: followed - held.fromMs } };
  }
  if (wall >= state.lastMs) return { state: { lastMs: wall }, stampMs: wall };
  return {
    state: { lastMs: state.lastMs, held: { fromMs: state.lastMs, monoMs } },
    stampMs: state.lastMs,
    event: { kind: 'behind', behindMs: state.lastMs - wall },
  };
}

/** How far the wall clock is behind the stamp a reading would get now (0 when they follow it). */
export function behindMs(state: StampState, wallMs: number, monoMs: number): number {
  const { held } = state;
  if (held === undefined) return 0;
  return Math.max(0, Math.max(state.lastMs, Math.floor(held.fromMs + (monoMs - held.monoMs))) - Math.floor(wallMs));
}
