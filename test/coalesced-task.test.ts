import { describe, expect, it } from 'vitest';
import { coalescedTask } from '../src/coalesced-task.ts';

/** A task whose runs the test ends by hand. */
function manual(): { task: () => Promise<void>; runs: number; finish: () => Promise<void> } {
  const ends: Array<() => void> = [];
  const t = {
    runs: 0,
    task: coalescedTask(() => {
      t.runs++;
      return new Promise<void>((r) => ends.push(r));
    }),
    finish: async () => {
      ends.shift()?.();
      await new Promise((r) => setImmediate(r));
    },
  };
  return t;
}

describe('coalescedTask', () => {
  it('runs at once when idle', () => {
    const t = manual();
    void t.task();
    expect(t.runs).toBe(1);
  });

  it('folds every request made while it runs into exactly one more run after it', async () => {
    const t = manual();
    void t.task();
    const later = [t.task(), t.task(), t.task()];
    expect(t.runs).toBe(1);
    await t.finish();
    expect(t.runs).toBe(2);
    await t.finish();
    await Promise.all(later);
    expect(t.runs).toBe(2);
  });

  it('takes a request made during the folded run as one more run again', async () => {
    const t = manual();
    void t.task();
    void t.task();
    await t.finish(); // the second run starts
    void t.task();
    expect(t.runs).toBe(2);
    await t.finish();
    expect(t.runs).toBe(3);
    await t.finish();
  });

  it('runs again after a run that fails while a request waited', async () => {
    let n = 0;
    let fail: (e: Error) => void = () => undefined;
    const task = coalescedTask(() => {
      n++;
      return n === 1 ? new Promise<void>((_, reject) => (fail = reject)) : Promise.resolve();
    });
    const first = task().catch(() => undefined);
    const second = task();
    fail(new Error('bad file'));
    await first;
    await expect(second).resolves.toBeUndefined();
    expect(n).toBe(2);
  });

  it('goes on after a run that fails', async () => {
    let n = 0;
    const task = coalescedTask(async () => {
      n++;
      if (n === 1) throw new Error('bad file');
    });
    await expect(task()).rejects.toThrow('bad file');
    await expect(task()).resolves.toBeUndefined();
    expect(n).toBe(2);
  });
});
