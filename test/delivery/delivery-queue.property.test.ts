import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import type { Sender, SendResult } from '../../src/delivery/sender.ts';
import { DeliveryError } from '../../src/errors.ts';
import { Stats } from '../../src/stats.ts';
import { accounting, FaultyFs } from '../helpers/faulty-fs.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

/**
 * A destination a test steers: up, down (retryable failure) or refusing (4xx). It does
 * not carry negative values at all, and cannot encode values ending in 7 (left out of
 * the batch and reported as unsent).
 */
class SteeredSender implements Sender {
  readonly maxBatch: number;
  mode: 'up' | 'down' | 'refuse' = 'up';
  delivered: number[] = [];
  refused: number[] = [];
  constructor(maxBatch: number) {
    this.maxBatch = maxBatch;
  }
  accepts(p: MetricPoint): boolean {
    return (p.value ?? 0) >= 0;
  }
  async send(points: readonly MetricPoint[]): Promise<SendResult> {
    if (this.mode === 'down') throw new DeliveryError('connection refused', true);
    if (this.mode === 'refuse') {
      this.refused.push(...points.map((p) => p.value as number));
      throw new DeliveryError('HTTP 404', false);
    }
    const carried = points.filter((p) => (p.value as number) % 10 !== 7);
    this.delivered.push(...carried.map((p) => p.value as number));
    return { unsent: points.length - carried.length, reason: 'out_of_range' };
  }
  async close(): Promise<void> {}
}

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('enqueue' as const), n: fc.integer({ min: 1, max: 30 }), negativeEvery: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('mode' as const), mode: fc.constantFrom<SteeredSender['mode']>('up', 'down', 'refuse') }),
    fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    fc.record({ op: fc.constant('disk' as const), full: fc.boolean() }),
  ),
  { maxLength: 40 },
);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

describe('DeliveryQueue (property)', () => {
  it('accounts for every point at every step, and delivers what it can once each, in order', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(ops, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 40 }), async (steps, maxBatch, maxQueue) => {
        vi.useFakeTimers();
        const sender = new SteeredSender(maxBatch);
        const fs = new FaultyFs();
        const stats = new Stats();
        const q = new DeliveryQueue(sender, {
          name: 'd',
          maxQueue,
          spoolDir: `${dir}/${run++}`,
          spoolFs: fs.fs,
          backoff: { minMs: 10, maxMs: 100 },
          logger: memoryLogger().logger,
          stats,
          now: () => Date.now(),
        });
        let next = 0;
        let diskFailed = false;
        const sentIn: number[] = [];
        const check = (): void => {
          const a = accounting(stats, 'd');
          expect(a.accounted).toBe(a.queued);
        };
        for (const s of steps) {
          if (s.op === 'enqueue') {
            // Every `negativeEvery`-th point is one the destination does not carry (0: none).
            const points = Array.from({ length: s.n }, (_, i) => ({ clientId: 'b', source: 't', value: s.negativeEvery > 0 && i % s.negativeEvery === 0 ? -1 : next++, timeMs: 1 }));
            sentIn.push(...points.filter((p) => p.value >= 0).map((p) => p.value));
            q.enqueue(points);
          } else if (s.op === 'mode') sender.mode = s.mode;
          else if (s.op === 'disk') {
            fs.room = s.full ? 0 : Infinity;
            diskFailed ||= s.full;
          }
          else await vi.advanceTimersByTimeAsync(s.ms);
          check();
        }
        // Everything comes back up; what is left must go out.
        sender.mode = 'up';
        fs.heal();
        for (let i = 0; i < 200 && q.backlog > 0; i++) await vi.advanceTimersByTimeAsync(1_000);
        check();
        expect(q.backlog).toBe(0);
        expect(stats.get('dest.d.skipped')).toBe(steps.reduce((n, s) => n + (s.op === 'enqueue' && s.negativeEvery > 0 ? Math.ceil(s.n / s.negativeEvery) : 0), 0));
        // Nothing twice, nothing invented; what was neither refused, unencodable nor dropped arrived.
        expect(new Set(sender.delivered).size).toBe(sender.delivered.length);
        const lost = stats.get('dest.d.dropped') - stats.get('dest.d.dropped.out_of_range');
        if (lost === 0) {
          expect([...sender.delivered, ...sender.refused.filter((v) => v % 10 !== 7)].sort((a, b) => a - b)).toEqual(sentIn.filter((v) => v % 10 !== 7));
        }
        // In order, unless the disk failed: then newer points wait in memory and may pass older ones on disk.
        if (lost === 0 && sender.refused.length === 0 && !diskFailed) expect(sender.delivered).toEqual(sentIn.filter((v) => v % 10 !== 7));
        await q.close(10);
        vi.useRealTimers();
      }),
      { numRuns: 150 },
    );
  });
});
