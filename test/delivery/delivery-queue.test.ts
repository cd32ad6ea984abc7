import { appendFileSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryError } from '../../src/errors.ts';
import { backoffDelay } from '../../src/backoff.ts';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import { FALLBACK_MEMORY_POINTS } from '../../src/delivery/spilling-buffer.ts';
import type { Sender, SendResult } from '../../src/delivery/sender.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { Stats } from '../../src/stats.ts';
import { accounting, FaultyFs } from '../helpers/faulty-fs.ts';
import { drained } from '../helpers/drained.ts';
import { memoryLogger, tempDir, waitFor } from '../helpers/fixtures.ts';

/** A sender a test can switch between up, down and refusing. */
class FakeSender implements Sender {
  readonly maxBatch: number;
  received: number[] = [];
  mode: 'up' | 'down' | 'refuse' = 'up';
  calls = 0;
  closeFails = false;
  constructor(maxBatch = 3) {
    this.maxBatch = maxBatch;
  }
  async send(points: readonly MetricPoint[]): Promise<void> {
    this.calls++;
    if (this.mode === 'down') throw new DeliveryError('connection refused', true);
    if (this.mode === 'refuse') throw new DeliveryError('HTTP 404', false);
    this.received.push(...points.map((p) => p.value as number));
  }
  async close(): Promise<void> {
    if (this.closeFails) throw new Error('socket already destroyed');
  }
}

const pts = (from: number, n: number): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ clientId: 'b', source: 't', value: from + i, timeMs: 1 }));
const fast = { minMs: 10, maxMs: 20 };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('DeliveryQueue', () => {
  it('sends in order in batches of maxBatch', async () => {
    const s = new FakeSender(3);
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    q.enqueue(pts(0, 10));
    await drained(q);
    expect(s.received).toEqual([...Array(10).keys()]);
    await q.close();
  });

  it('keeps order across memory, spool and back while the destination is down', async () => {
    const s = new FakeSender(4);
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 5, spoolDir: dir, backoff: fast, logger: memoryLogger().logger, stats });
    for (let i = 0; i < 30; i += 2) q.enqueue(pts(i, 2));
    expect(stats.get('dest.d.spooled')).toBe(26);
    await waitFor(() => s.calls >= 3, 2000, 'retries');
    s.mode = 'up';
    q.enqueue(pts(30, 2));
    await drained(q);
    expect(s.received).toEqual([...Array(32).keys()]);
    expect(stats.get('dest.d.sent')).toBe(32);
    expect(readdirSync(dir)).toEqual([]);
    await q.close();
  });

  it('writes what is in memory at close to the spool, and a new queue sends it first', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 3, spoolDir: dir, backoff: { minMs: 10_000, maxMs: 10_000 }, logger: memoryLogger().logger, stats: new Stats() });
    q.enqueue(pts(0, 3)); // memory
    q.enqueue(pts(3, 3)); // spool
    await q.close(10);
    const s2 = new FakeSender(100);
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    q2.enqueue(pts(6, 1));
    await drained(q2);
    expect(s2.received).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await q2.close();
  });

  it('does not send a spool segment’s delivered part again after a restart', async () => {
    const s = new FakeSender(2);
    s.mode = 'down';
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 0, spoolDir: dir, backoff: fast, logger: memoryLogger().logger, stats: new Stats() });
    q.enqueue(pts(0, 6));
    // Deliver the first batch only, then "crash" (no close: the spool stays as it is).
    s.mode = 'up';
    await waitFor(() => s.received.length >= 2);
    s.mode = 'down';
    await waitFor(() => s.calls >= 3);
    const s2 = new FakeSender(10);
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    await drained(q2);
    expect([...s.received, ...s2.received]).toEqual([0, 1, 2, 3, 4, 5]);
    await q.close(10);
    await q2.close();
  });

  it('skips a torn spool line (a kill mid-write) and logs it', async () => {
    const q = new DeliveryQueue(new FakeSender(), { name: 'd', maxQueue: 0, spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats: new Stats() });
    await q.close(10);
    appendFileSync(`${dir}/seg-0000999999999.jsonl`, '["b","t",1,1]\n["b","t",2');
    const logs = memoryLogger();
    const s = new FakeSender();
    const q2 = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats() });
    await drained(q2);
    expect(s.received).toEqual([1]);
    expect(logs.lines.some((l) => l['code'] === 'E_SPOOL')).toBe(true);
    await q2.close();
  });

  it('counts and logs every drop when overflow is "drop"', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const stats = new Stats();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 4, overflow: 'drop', backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats });
    q.enqueue(pts(0, 4));
    q.enqueue(pts(4, 3));
    expect(stats.get('dest.d.dropped')).toBe(3);
    expect(logs.lines.some((l) => /dropping/.test(String(l['msg'])))).toBe(true);
    await q.close(10);
    expect(stats.get('dest.d.dropped')).toBe(7); // what was still queued at shutdown, with no spool
  });

  it('does not retry a batch the destination refuses, and counts it', async () => {
    const s = new FakeSender();
    s.mode = 'refuse';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 2));
    await drained(q);
    expect(s.calls).toBe(1);
    expect(stats.get('dest.d.rejected')).toBe(2);
    await q.close();
  });
});

describe('DeliveryQueue bookkeeping', () => {
  it('counts points queued after close as dropped (stopped)', async () => {
    const stats = new Stats();
    const q = new DeliveryQueue(new FakeSender(), { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    await q.close(10);
    q.enqueue(pts(0, 3));
    expect(stats.get('dest.d.dropped.stopped')).toBe(3);
    expect(accounting(stats, 'd')).toEqual({ queued: 3, accounted: 3 });
  });

  it('without a spool, drops what is still queued at close as stopped', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', overflow: 'drop', backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 4));
    await q.close(10);
    expect(stats.get('dest.d.dropped.stopped')).toBe(4);
    expect(accounting(stats, 'd')).toEqual({ queued: 4, accounted: 4 });
  });

  it('puts what is in memory at close in front of the spool, and counts it as queued when restored', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 3, spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.calls >= 1);
    q.enqueue(pts(2, 2));
    expect(stats.get('dest.d.spool_bytes')).toBeGreaterThan(0);
    await q.close(10);
    expect(stats.get('dest.d.memory')).toBe(0);
    expect(stats.get('dest.d.spool_pending')).toBe(4);
    const stats2 = new Stats();
    const logs = memoryLogger();
    const s2 = new FakeSender(100);
    s2.mode = 'down';
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats: stats2 });
    expect(stats2.get('dest.d.restored')).toBe(4);
    expect(stats2.get('dest.d.queued')).toBe(4);
    expect(logs.lines.some((l) => l['points'] === 4)).toBe(true);
    await q2.close(10);
  });

  it('starts with nothing restored from an empty spool', () => {
    const stats = new Stats();
    void new DeliveryQueue(new FakeSender(), { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats }).close(10);
    expect(stats.get('dest.d.restored')).toBe(0);
    expect(stats.get('dest.d.queued')).toBe(0);
  });

  it('logs the outage once at warn, retries at debug, and the recovery with how long it lasted', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    let t = 1_000_000;
    const stats = new Stats();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: fast, logger: logs.logger, stats, now: () => t });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.calls >= 3);
    expect(stats.get('dest.d.retries')).toBeGreaterThanOrEqual(3);
    const delivery = logs.lines.filter((l) => l['code'] === 'E_DELIVERY');
    expect(delivery.filter((l) => l['level'] === 40)).toHaveLength(1);
    expect(delivery.filter((l) => l['level'] === 20).length).toBeGreaterThanOrEqual(2);
    expect(delivery.every((l) => typeof l['retryInMs'] === 'number')).toBe(true);
    t += 42_000;
    s.mode = 'up';
    await drained(q);
    expect(logs.lines.find((l) => l['downSeconds'] !== undefined)?.['downSeconds']).toBe(42);
    await q.close();
  });

  it('waits the configured backoff before a retry', async () => {
    vi.useFakeTimers();
    try {
      const s = new FakeSender(100);
      s.mode = 'down';
      const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 10_000, maxMs: 10_000 }, logger: memoryLogger().logger, stats: new Stats() });
      q.enqueue(pts(0, 1));
      await vi.advanceTimersByTimeAsync(4_000); // jitter puts the first retry in [5 s, 10 s]
      expect(s.calls).toBe(1);
      await vi.advanceTimersByTimeAsync(6_001);
      expect(s.calls).toBe(2);
      await q.close(10);
    } finally {
      vi.useRealTimers();
    }
  });

  it('removes refused points from the spool too, counting them as rejected', async () => {
    const s = new FakeSender(2);
    s.mode = 'refuse';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 0, spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 5));
    await drained(q);
    expect(stats.get('dest.d.rejected')).toBe(5);
    expect(stats.get('dest.d.spool_pending')).toBe(0);
    expect(accounting(stats, 'd')).toEqual({ queued: 5, accounted: 5 });
    await q.close();
  });

  it('refuses to be built with overflow "spool" and no spool directory', () => {
    expect(() => new DeliveryQueue(new FakeSender(), { name: 'd', logger: memoryLogger().logger, stats: new Stats() })).toThrow(expect.objectContaining({ code: 'E_CONFIG_INVALID' }));
  });
});

describe('DeliveryQueue, the details', () => {
  /** A sender whose sends the test resolves or fails by hand. */
  class ManualSender implements Sender {
    readonly maxBatch = 2;
    delivered: number[] = [];
    pending: Array<{ points: readonly MetricPoint[]; ok: () => void; fail: () => void }> = [];
    send(points: readonly MetricPoint[]): Promise<void> {
      return new Promise((resolve, reject) => {
        this.pending.push({
          points,
          ok: () => {
            this.delivered.push(...points.map((p) => p.value as number));
            resolve();
          },
          fail: () => reject(new DeliveryError('connection reset', true)),
        });
      });
    }
    async close(): Promise<void> {}
  }

  it('keeps points in memory while they fit, counting what was already sent as gone', async () => {
    const s = new FakeSender(4);
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 4, spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 4)); // exactly the queue size
    await drained(q);
    q.enqueue(pts(4, 4));
    await drained(q);
    expect(stats.get('dest.d.spooled')).toBe(0);
    expect(s.received).toEqual([...Array(8).keys()]);
    await q.close();
  });

  it('takes a burst of 200,000 points through memory, not the disk, while the destination keeps up (defaults)', async () => {
    const s = new FakeSender(2000);
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    for (let i = 0; i < 200; i++) q.enqueue(pts(i * 1000, 1000)); // faster than any send
    await drained(q);
    expect(stats.get('dest.d.spooled')).toBe(0);
    expect(readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(s.received).toHaveLength(200_000);
    expect(s.received.every((v, i) => v === i)).toBe(true);
    await q.close();
  });

  it('spills only what was not sent yet when the destination goes down mid-queue', async () => {
    const s = new ManualSender();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 10, maxMs: 20 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 6));
    await waitFor(() => s.pending.length === 1);
    s.pending.shift()?.ok(); // 0, 1 delivered
    await waitFor(() => s.pending.length === 1);
    s.pending.shift()?.fail(); // down: 2..5 go to disk
    await waitFor(() => stats.get('dest.d.spool_pending') === 4);
    expect(stats.get('dest.d.spooled')).toBe(4);
    for (;;) {
      await waitFor(() => s.pending.length > 0 || q.backlog === 0);
      if (q.backlog === 0) break;
      s.pending.shift()?.ok();
    }
    expect(s.delivered).toEqual([0, 1, 2, 3, 4, 5]);
    await q.close();
  });

  it('at close, spools only what was not sent, and does not count a batch that finishes after it', async () => {
    const s = new ManualSender();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 5));
    await waitFor(() => s.pending.length === 1);
    s.pending.shift()?.ok(); // 0, 1 delivered
    await waitFor(() => s.pending.length === 1); // 2, 3 in flight
    await q.close(10);
    s.pending.shift()?.ok(); // too late: already in the spool
    await new Promise((r) => setTimeout(r, 20));
    expect(stats.get('dest.d.sent')).toBe(2);
    expect(stats.get('dest.d.spool_pending')).toBe(3);
    expect(accounting(stats, 'd')).toEqual({ queued: 5, accounted: 5 });
  });

  it('counts a sender’s unsent points without a reason as out_of_range', async () => {
    const stats = new Stats();
    const sender: Sender = { maxBatch: 10, send: async () => ({ unsent: 1 }), close: async () => undefined };
    const q = new DeliveryQueue(sender, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 3));
    await drained(q);
    expect(stats.get('dest.d.dropped.out_of_range')).toBe(1);
    expect(stats.get('dest.d.sent')).toBe(2);
    await q.close();
  });

  it('counts drops at the spool cap, and accounts for them', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 0, spoolDir: dir, spoolMaxBytes: 30_000, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    for (let i = 0; i < 30; i++) q.enqueue(pts(i * 1000, 1000));
    expect(stats.get('dest.d.dropped.spool_full')).toBeGreaterThan(0);
    expect(accounting(stats, 'd').accounted).toBe(accounting(stats, 'd').queued);
    await q.close(10);
  });

  it('logs a drop at most every 10 s, counting every one', () => {
    let t = 0;
    const stats = new Stats();
    const logs = memoryLogger();
    const s = new FakeSender();
    s.mode = 'down';
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 1, overflow: 'drop', backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats, now: () => t });
    q.enqueue(pts(0, 2));
    t = 9_999;
    q.enqueue(pts(0, 1));
    t = 10_000;
    q.enqueue(pts(0, 1));
    expect(stats.get('dest.d.dropped.queue_full')).toBe(3);
    expect(logs.lines.filter((l) => l['reason'] === 'queue_full')).toHaveLength(2);
    void q.close(10);
  });

  it('backs off longer after each failure', async () => {
    vi.useFakeTimers();
    try {
      const s = new FakeSender(100);
      s.mode = 'down';
      const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 1_000, maxMs: 100_000 }, logger: memoryLogger().logger, stats: new Stats() });
      q.enqueue(pts(0, 1));
      await vi.advanceTimersByTimeAsync(3_400); // retries at ≤ 1 s, ≤ 3 s, then not before 3.5 s
      expect(s.calls).toBeLessThanOrEqual(3);
      await vi.advanceTimersByTimeAsync(4_000);
      expect(s.calls).toBeGreaterThanOrEqual(4);
      await q.close(10);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not send a segment an earlier run delivered completely, and says nothing restored', async () => {
    const first = new Stats();
    const q = new DeliveryQueue(new FakeSender(), { name: 'd', maxQueue: 0, spoolDir: dir, logger: memoryLogger().logger, stats: first });
    q.enqueue(pts(0, 3));
    await drained(q);
    await q.close();
    const s = new FakeSender();
    const logs = memoryLogger();
    const q2 = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats() });
    await new Promise((r) => setTimeout(r, 20));
    expect(s.calls).toBe(0);
    expect(logs.lines.some((l) => l['points'] !== undefined)).toBe(false);
    await q2.close();
  });
});

describe('DeliveryQueue when the spool’s disk fails', () => {
  it('survives a spool that cannot record deliveries or remove segments, and delivers every point once', async () => {
    const s = new FakeSender(2);
    s.mode = 'down';
    const f = new FaultyFs();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 0, spoolDir: dir, spoolFs: f.fs, backoff: fast, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 7));
    await waitFor(() => s.calls >= 2);
    f.failOn('openSync', 'EROFS', /\.done$/);
    f.failOn('unlinkSync', 'EROFS');
    s.mode = 'up';
    await drained(q);
    expect(s.received).toEqual([...Array(7).keys()]);
    const a = accounting(stats, 'd');
    expect(a.accounted).toBe(a.queued);
    expect(stats.get('dest.d.sent')).toBe(7);
    await q.close();
  });

  it('keeps points in memory while the spool cannot be written, counts the overflow as dropped, and accounts for every point', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const f = new FaultyFs();
    f.room = 0; // the disk is full from the start
    const stats = new Stats();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', maxQueue: 0, spoolDir: dir, spoolFs: f.fs, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats });
    for (let i = 0; i < 12_000; i += 100) q.enqueue(pts(i, 100));
    expect(stats.get('dest.d.memory')).toBe(10_000);
    expect(stats.get('dest.d.dropped.spool_unwritable')).toBe(2_000);
    const a = accounting(stats, 'd');
    expect(a).toEqual({ queued: 12_000, accounted: 12_000 });
    expect(logs.lines.filter((l) => l['code'] === 'E_SPOOL')).toHaveLength(1);
    await q.close(10);
  });

  it('moves what waits in memory to the spool once the destination is down, so a kill loses nothing (defaults)', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 5)); // memory: nothing has failed yet
    await waitFor(() => s.calls >= 1);
    q.enqueue(pts(5, 5)); // down: straight to disk
    expect(stats.get('dest.d.memory')).toBe(0);
    expect(stats.get('dest.d.spool_pending')).toBe(10);
    // A kill: no close. A new process on the same spool sends everything.
    const s2 = new FakeSender(100);
    const stats2 = new Stats();
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: stats2 });
    await drained(q2);
    expect(s2.received).toEqual([...Array(10).keys()]);
    expect(accounting(stats2, 'd')).toEqual({ queued: 10, accounted: 10 });
    await q2.close();
    await q.close(10);
  });
});

describe('DeliveryQueue and the destination’s delivery rule', () => {
  /** A sender whose batches are delivered only when the test settles their rule (a resend window, an ack). */
  class RuledSender implements Sender {
    readonly maxBatch = 2;
    written: number[] = [];
    rules: Array<{ values: number[]; hold: () => void; lose: () => void }> = [];
    mode: 'up' | 'down' = 'up';
    async send(points: readonly MetricPoint[]): Promise<SendResult> {
      if (this.mode === 'down') throw new DeliveryError('connection refused', true);
      const values = points.map((p) => p.value as number);
      this.written.push(...values);
      let hold = (): void => undefined;
      let lose = (): void => undefined;
      const delivered = new Promise<void>((resolve, reject) => {
        hold = resolve;
        lose = () => reject(new DeliveryError('connection broke within the resend window', true));
      });
      this.rules.push({ values, hold, lose });
      return { delivered };
    }
    async close(): Promise<void> {}
  }

  it('counts a batch as sent, and lets it go, only once its rule holds, not when it was written', async () => {
    const s = new RuledSender();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 4));
    await waitFor(() => s.rules.length === 2, 2000, 'both batches written');
    expect(stats.get('dest.d.sent')).toBe(0);
    expect(q.backlog).toBe(4);
    s.rules[0]?.hold();
    await waitFor(() => stats.get('dest.d.sent') === 2, 2000, 'first batch sent');
    expect(q.backlog).toBe(2);
    expect(accounting(stats, 'd')).toEqual({ queued: 4, accounted: 4 });
    s.rules[1]?.hold();
    await drained(q);
    await q.close();
  });

  it('sends a batch whose rule fails (the connection broke in its window) again, with every batch written after it', async () => {
    const s = new RuledSender();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 6));
    await waitFor(() => s.rules.length === 3, 2000, 'three batches written');
    s.rules[0]?.hold();
    s.rules[1]?.lose();
    s.rules[2]?.lose();
    await waitFor(() => s.rules.length === 5, 2000, 'the two lost batches written again');
    expect(s.written).toEqual([0, 1, 2, 3, 4, 5, 2, 3, 4, 5]);
    expect(stats.get('dest.d.resent')).toBe(4);
    for (const r of s.rules.slice(3)) r.hold();
    await drained(q);
    expect(stats.get('dest.d.sent')).toBe(6);
    expect(accounting(stats, 'd')).toEqual({ queued: 6, accounted: 6 });
    await q.close();
  });

  it('at a stop, writes batches still in their window to the spool, and the next start sends them', async () => {
    const s = new RuledSender();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    q.enqueue(pts(0, 3));
    await waitFor(() => s.rules.length === 2, 2000, 'written');
    s.rules[0]?.hold();
    await waitFor(() => q.backlog === 1, 2000, 'first batch delivered');
    await q.close(10);
    const s2 = new FakeSender(100);
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    await drained(q2);
    expect(s2.received).toEqual([2]);
    await q2.close();
  });

  it('when the destination goes down, puts batches still in their window on disk, so a kill then loses none of them', async () => {
    const s = new RuledSender();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 4));
    await waitFor(() => s.rules.length === 2, 2000, 'written');
    s.mode = 'down';
    for (const r of s.rules) r.lose(); // the connection broke
    await waitFor(() => stats.get('dest.d.retries') >= 1, 2000, 'a failed attempt');
    expect(stats.get('dest.d.memory')).toBe(0);
    expect(stats.get('dest.d.spool_pending')).toBe(4);
    // A kill: no close. The next process sends all four.
    const s2 = new FakeSender(100);
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats: new Stats() });
    await drained(q2);
    expect(s2.received).toEqual([0, 1, 2, 3]);
    await q2.close();
    await q.close(10);
  });

  it('a queue rebuilt on the same spool in the same process (SIGHUP) does not count what it takes over as queued again', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 5));
    await waitFor(() => s.calls >= 1);
    await q.close(10);
    const s2 = new FakeSender(100);
    const q2 = new DeliveryQueue(s2, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    await drained(q2);
    expect(s2.received).toEqual([0, 1, 2, 3, 4]);
    expect(stats.get('dest.d.queued')).toBe(5);
    expect(stats.get('dest.d.sent')).toBe(5);
    expect(accounting(stats, 'd')).toEqual({ queued: 5, accounted: 5 });
    await q2.close();
  });
});

describe('backoffDelay', () => {
  it('doubles from min, caps at max, and jitters into [50 %, 100 %]', () => {
    const o = { minMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, o, () => 0.999999)).toBe(100);
    expect(backoffDelay(0, o, () => 0)).toBe(50);
    expect(backoffDelay(3, o, () => 0.999999)).toBe(800);
    expect(backoffDelay(10, o, () => 0.999999)).toBe(1000);
  });
});

describe('DeliveryQueue, what it tells', () => {
  const errors = (logs: ReturnType<typeof memoryLogger>): Array<Record<string, unknown>> => logs.lines.filter((l) => (l['level'] as number) >= 50);

  it('reports its status: backlog, spool, since when it is down and the last error', async () => {
    const s = new FakeSender(100);
    s.mode = 'down';
    const t = 1_700_000_000_000;
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats: new Stats(), now: () => t });
    expect(q.status).toEqual({ name: 'd', backlog: 0, spoolPending: 0, spoolBytes: 0, downSinceMs: undefined, lastError: undefined });
    q.enqueue(pts(0, 3));
    await waitFor(() => q.status.downSinceMs !== undefined);
    const st = q.status;
    expect(st).toMatchObject({ name: 'd', backlog: 3, spoolPending: 3, downSinceMs: t, lastError: { message: 'connection refused', atMs: t } });
    expect(st.spoolBytes).toBeGreaterThan(0);
    await q.close(10);
    const memoryOnly = new DeliveryQueue(new FakeSender(), { name: 'm', overflow: 'drop', logger: memoryLogger().logger, stats: new Stats() });
    expect(memoryOnly.status).toMatchObject({ spoolPending: 0, spoolBytes: 0 });
    await memoryOnly.close(10);
  });

  it('remembers a refusal as the last error', async () => {
    const s = new FakeSender();
    s.mode = 'refuse';
    const t = 5_000_000;
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats(), now: () => t });
    q.enqueue(pts(0, 2));
    await drained(q);
    expect(q.status.lastError).toEqual({ message: 'HTTP 404', atMs: t });
    expect(q.status.downSinceMs).toBeUndefined();
    expect(logs.lines.filter((l) => l['code'] === 'E_DELIVERY' && l['points'] === 2)).toHaveLength(1);
    await q.close();
  });

  it('names the destination in every line it logs', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'carbon-1', spoolDir: dir, backoff: fast, logger: logs.logger, stats: new Stats() });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.calls >= 2);
    s.mode = 'up';
    await drained(q);
    await q.close();
    expect(logs.lines.length).toBeGreaterThan(2);
    expect(logs.lines.every((l) => l['destination'] === 'carbon-1')).toBe(true);
  });

  it('says when the destination is back, with the backlog, and again once what waited is delivered, with how many', async () => {
    const s = new FakeSender(2);
    s.mode = 'down';
    let t = 1_000_000;
    const stats = new Stats();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: fast, logger: logs.logger, stats, now: () => t });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.calls >= 1);
    q.enqueue(pts(2, 2)); // sent once before: 2 points wait, 4 in all
    await waitFor(() => s.calls >= 2);
    t += 7_000;
    s.mode = 'up';
    await drained(q);
    const back = logs.lines.find((l) => l['backlog'] !== undefined && l['downSeconds'] !== undefined);
    expect(back).toMatchObject({ downSeconds: 7, backlog: 4 }); // what waited, the first batch back included
    const done = logs.lines.filter((l) => l['delivered'] !== undefined);
    expect(done).toEqual([expect.objectContaining({ downSeconds: 7, delivered: 4 })]);
    await q.close();
  });

  it('logs no error while the destination takes everything', async () => {
    const logs = memoryLogger();
    const q = new DeliveryQueue(new FakeSender(), { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats() });
    q.enqueue(pts(0, 5));
    await drained(q);
    await q.close();
    expect(errors(logs)).toEqual([]);
  });

  it('does not end an outage on a refusal: only a delivered batch says the destination is back', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, backoff: fast, logger: memoryLogger().logger, stats: new Stats() });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.calls >= 1);
    s.mode = 'refuse';
    await drained(q);
    expect(q.status.downSinceMs).toBeDefined();
    await q.close(10);
  });

  it('without a spool, survives an outage and delivers everything once it is over', async () => {
    const s = new FakeSender(3);
    s.mode = 'down';
    const stats = new Stats();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', overflow: 'drop', backoff: fast, logger: logs.logger, stats });
    q.enqueue(pts(0, 5));
    await waitFor(() => s.calls >= 2);
    s.mode = 'up';
    await drained(q);
    expect(s.received).toEqual([0, 1, 2, 3, 4]);
    expect(stats.get('dest.d.sent')).toBe(5);
    expect(logs.lines.filter((l) => l['code'] === 'E_INTERNAL')).toEqual([]);
    await q.close();
  });

  it('without a spool, logs at close how many points it drops', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', overflow: 'drop', backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats: new Stats() });
    q.enqueue(pts(0, 4));
    await waitFor(() => s.calls >= 1);
    await q.close(10);
    expect(logs.lines.filter((l) => l['code'] === 'E_DELIVERY' && l['dropped'] !== undefined && l['reason'] === undefined).map((l) => l['dropped'])).toEqual([4]);
  });

  it('with a spool, logs at close how many points it wrote there, and none as dropped', async () => {
    const s = new ManualHold();
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats() });
    q.enqueue(pts(0, 6));
    await waitFor(() => s.waiting > 0);
    await q.close(10);
    expect(logs.lines.filter((l) => l['points'] !== undefined && l['level'] === 30).map((l) => l['points'])).toEqual([6]);
    expect(errors(logs)).toEqual([]);
    s.release();
  });

  it('closes quietly when closing the connection fails, and says so at warn', async () => {
    const s = new FakeSender();
    s.closeFails = true;
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: logs.logger, stats: new Stats() });
    await expect(q.close(10)).resolves.toBeUndefined();
    expect(logs.lines.filter((l) => l['code'] === 'E_DELIVERY' && l['level'] === 40)).toHaveLength(1);
  });

  it('logs a drop with its code, reason and the count so far', async () => {
    const s = new FakeSender();
    s.mode = 'down';
    const logs = memoryLogger();
    const q = new DeliveryQueue(s, { name: 'd', overflow: 'drop', maxQueue: 2, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: logs.logger, stats: new Stats() });
    q.enqueue(pts(0, 5));
    const drop = logs.lines.find((l) => l['reason'] !== undefined);
    expect(drop).toMatchObject({ code: 'E_DELIVERY', reason: 'queue_full', dropped: 3 });
    await q.close(10);
  });

  it('does not count a send that fails after close began as a retry', async () => {
    const s = new ManualHold();
    const stats = new Stats();
    const q = new DeliveryQueue(s, { name: 'd', spoolDir: dir, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, 2));
    await waitFor(() => s.waiting > 0);
    const closing = q.close(5_000);
    s.fail();
    await closing;
    expect(stats.get('dest.d.retries')).toBe(0);
    expect(stats.get('dest.d.spool_pending')).toBe(2);
  });

  it('without a spool, keeps sending after more than its window of points was lost in a broken connection', async () => {
    const big = FALLBACK_MEMORY_POINTS + 1;
    let lose = true;
    const stats = new Stats();
    const sender: Sender = {
      maxBatch: big,
      send: async () => ({ delivered: lose ? ((lose = false), Promise.reject(new DeliveryError('connection broke', true))) : Promise.resolve() }),
      close: async () => undefined,
    };
    const q = new DeliveryQueue(sender, { name: 'd', overflow: 'drop', maxQueue: big, backoff: fast, logger: memoryLogger().logger, stats });
    q.enqueue(pts(0, big));
    await drained(q);
    expect(stats.get('dest.d.resent')).toBe(big);
    expect(stats.get('dest.d.sent')).toBe(big);
    await q.close();
  });
});

/** A sender whose one write waits until the test releases or fails it. */
class ManualHold implements Sender {
  readonly maxBatch = 100;
  waiting = 0;
  #settle: Array<{ ok: () => void; err: () => void }> = [];
  send(): Promise<void> {
    this.waiting++;
    return new Promise((ok, reject) => this.#settle.push({ ok, err: () => reject(new DeliveryError('connection reset', true)) }));
  }
  release(): void {
    for (const s of this.#settle.splice(0)) s.ok();
  }
  fail(): void {
    for (const s of this.#settle.splice(0)) s.err();
  }
  async close(): Promise<void> {}
}
