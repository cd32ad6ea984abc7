import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { Spool } from '../../src/delivery/spool.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

const point: fc.Arbitrary<MetricPoint> = fc.record({
  clientId: fc.string({ minLength: 1, maxLength: 20 }),
  source: fc.string({ minLength: 1, maxLength: 20 }),
  value: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Object.is(v, -0)), { nil: null }),
  timeMs: fc.integer({ min: 0, max: 2 ** 45 }),
});

describe('Spool properties', () => {
  it('gives back every point it took, in order, however they were appended and delivered', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(point, { maxLength: 30 }), { maxLength: 10 }), fc.integer({ min: 1, max: 50 }), async (appends, batch) => {
        const { dir, cleanup } = await tempDir();
        try {
          const spool = new Spool({ dir, logger: memoryLogger().logger, onDrop: () => undefined });
          for (const a of appends) expect(spool.append(a)).toBe(true);
          const got: MetricPoint[] = [];
          // Deliver in batches, "restarting" (a new Spool on the same files) after each segment.
          let current = spool;
          for (let seg = current.oldest(); seg; seg = current.oldest()) {
            for (let off = seg.delivered; off < seg.points.length; off += batch) {
              const n = Math.min(batch, seg.points.length - off);
              got.push(...seg.points.slice(off, off + n));
              current.markDelivered(seg.seq, off + n);
            }
            current.close();
            current = new Spool({ dir, logger: memoryLogger().logger, onDrop: () => undefined });
          }
          expect(got).toEqual(appends.flat());
          expect(current.size).toBe(0);
        } finally {
          await cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });
});
