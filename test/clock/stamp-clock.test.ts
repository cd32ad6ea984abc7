import { describe, expect, it } from 'vitest';
import { behindMs, nextStamp, startState, type StampState } from '../../src/clock/stamp-clock.ts';

/** Stamps for a run of (wall, mono) readings of the clocks. */
function run(floor: number, clocks: Array<[wall: number, mono: number]>): { stamps: number[]; events: unknown[]; state: StampState } {
  let state = startState(floor);
  const stamps: number[] = [];
  const events: unknown[] = [];
  for (const [wall, mono] of clocks) {
    const s = nextStamp(state, wall, mono);
    state = s.state;
    stamps.push(s.stampMs);
    if (s.event) events.push(s.event);
  }
  return { stamps, events, state };
}

describe('stamps', () => {
  it('follow the wall clock while it moves forward, steps forward included', () => {
    const { stamps, events } = run(0, [[1_000, 0], [2_000, 1_000], [90_000_000, 2_000]]);
    expect(stamps).toEqual([1_000, 2_000, 90_000_000]);
    expect(events).toEqual([]);
  });

  it('after a step back, go on from the last stamp at the monotonic pace, and say how far back once', () => {
    const { stamps, events } = run(0, [[10_000, 100], [6_400, 600], [6_900, 1_100], [7_400, 1_600]]);
    expect(stamps).toEqual([10_000, 10_000, 10_500, 11_000]);
    expect(events).toEqual([{ kind: 'behind', behindMs: 3_600 }]);
  });

  it('follow the wall clock again once it catches up, and say so', () => {
    const { stamps, events, state } = run(0, [[10_000, 0], [5_000, 1_000], [9_000, 5_000], [20_000, 7_000]]);
    expect(stamps).toEqual([10_000, 10_000, 14_000, 20_000]);
    expect(events).toEqual([{ kind: 'behind', behindMs: 5_000 }, { kind: 'caught-up', heldMs: 6_000 }]);
    expect(state.held).toBeUndefined();
  });

  it('start from the floor when the wall clock is behind it (a start behind the files)', () => {
    const { stamps, events } = run(50_000, [[40_000, 0], [41_000, 1_000]]);
    expect(stamps).toEqual([50_000, 51_000]);
    expect(events).toEqual([{ kind: 'behind', behindMs: 10_000 }]);
  });

  it('never run backwards, whatever the clocks do', () => {
    let state = startState(0);
    let last = 0;
    let mono = 0;
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 10_000; i++) {
      mono += rnd() * 100;
      const wall = 1e9 + (rnd() - 0.5) * 1e7;
      const s = nextStamp(state, wall, mono);
      expect(s.stampMs).toBeGreaterThanOrEqual(last);
      last = s.stampMs;
      state = s.state;
    }
  });

  it('give whole milliseconds', () => {
    expect(run(0, [[1_000.7, 0]]).stamps).toEqual([1_000]);
    expect(run(0, [[1_000, 0], [500, 0.6]]).stamps).toEqual([1_000, 1_000]);
  });

  it('tell how far the wall clock is behind them', () => {
    const { state } = run(0, [[10_000, 0], [4_000, 1_000]]);
    expect(behindMs(state, 4_500, 1_000)).toBe(5_500);
    expect(behindMs(state, 5_000, 2_000)).toBe(6_000); // no reading since: where the next one would be
    expect(behindMs(startState(0), 1, 0)).toBe(0);
  });
});
