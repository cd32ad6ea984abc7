import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { Spool, type SpoolDropReason } from '../../src/delivery/spool.ts';
import { FaultyFs } from '../helpers/faulty-fs.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

const pts = (from: number, n: number): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ clientId: 'b', source: 't', value: from + i, timeMs: 1 }));

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

function open(o: { fs?: FaultyFs; maxBytes?: number; now?: () => number } = {}) {
  const logs = memoryLogger();
  const drops: Array<[SpoolDropReason, number]> = [];
  const spool = new Spool({ dir, logger: logs.logger, fs: o.fs?.fs, maxBytes: o.maxBytes, now: o.now, onDrop: (r, n) => drops.push([r, n]) });
  return { spool, logs, drops };
}

const values = (spool: Spool): number[] => spool.oldest()?.points.map((p) => p.value as number) ?? [];
const segmentText = (): string => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(dir, f), 'utf8')).join('');

describe('Spool on a disk that fails', () => {
  it('completes short writes: every point arrives whole', () => {
    const f = new FaultyFs();
    f.maxWrite = 7;
    const { spool } = open({ fs: f });
    expect(spool.append(pts(0, 20))).toBe(true);
    expect(values(spool)).toEqual([...Array(20).keys()]);
  });

  it('answers false on ENOSPC, cuts the partial write back and logs E_SPOOL once', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    expect(spool.append(pts(0, 2))).toBe(true);
    f.room = 10; // a few bytes into the next line, then the disk is full
    expect(spool.append(pts(2, 3))).toBe(false);
    expect(spool.append(pts(5, 3))).toBe(false); // not even tried: the fault is fresh
    expect(segmentText()).toBe('["b","t",0,1]\n["b","t",1,1]\n');
    expect(spool.size).toBe(2);
    expect(logs.lines.filter((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'ENOSPC')).toHaveLength(1);
  });

  it('starts a new segment when a torn tail cannot be cut back, so no line is joined to it', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f, now: () => (t += 10_000) });
    let t = 0;
    spool.append(pts(0, 1));
    f.room = 5;
    f.failOn('ftruncateSync', 'EIO');
    expect(spool.append(pts(1, 1))).toBe(false);
    f.heal();
    expect(spool.append(pts(2, 1))).toBe(true);
    const again = open({ fs: new FaultyFs() }).spool;
    const got: number[] = [];
    for (let seg = again.oldest(); seg; seg = again.oldest()) {
      got.push(...seg.points.map((p) => p.value as number));
      again.markDelivered(seg.seq, seg.points.length, seg.points.length - seg.delivered);
    }
    expect(got).toEqual([0, 2]);
  });

  it('does not throw when the delivered count cannot be recorded (EROFS), and keeps its place', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.append(pts(0, 4));
    const seg = spool.oldest();
    f.failOn('openSync', 'EROFS', /\.done$/);
    expect(() => spool.markDelivered(seg?.seq ?? 0, 2, 2)).not.toThrow();
    expect(spool.size).toBe(2);
    expect(logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'EROFS')).toBe(true);
  });

  it('records a delivered segment it cannot unlink as fully delivered, so a restart does not send it again', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.append(pts(0, 3));
    const seg = spool.oldest();
    f.failOn('unlinkSync', 'EACCES', /\.jsonl$/);
    spool.markDelivered(seg?.seq ?? 0, 3, 3);
    spool.close();
    expect(logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'EACCES')).toBe(true);
    const restarted = open().spool;
    expect(restarted.size).toBe(0);
    const again = restarted.oldest();
    expect(again?.delivered).toBe(again?.points.length);
  });

  it('resumes a partly delivered segment at the recorded offset after a restart', () => {
    const { spool } = open();
    spool.append(pts(0, 5));
    const seg = spool.oldest();
    spool.markDelivered(seg?.seq ?? 0, 3, 3);
    // no close: a kill
    const again = open().spool;
    expect(again.size).toBe(2);
    expect(again.oldest()?.delivered).toBe(3);
  });

  it('keeps running when the directory cannot be created at all, and uses it once it can', () => {
    const f = new FaultyFs();
    f.failOn('mkdirSync', 'EROFS');
    let t = 0;
    const { spool, logs } = open({ fs: f, now: () => t });
    expect(spool.faulty).toBe(true);
    expect(spool.append(pts(0, 1))).toBe(false);
    f.heal();
    t += 4_000;
    expect(spool.append(pts(0, 1))).toBe(false); // retried only after 5 s
    t += 2_000;
    expect(spool.append(pts(0, 1))).toBe(true);
    expect(spool.faulty).toBe(false);
    expect(logs.lines.some((l) => /can be written again/.test(String(l['msg'])))).toBe(true);
  });

  it('drops the oldest segments past its byte cap, and counts what they held', () => {
    const segment = pts(0, 5000).reduce((n, p) => n + Buffer.byteLength(`${JSON.stringify([p.clientId, p.source, p.value, p.timeMs])}\n`), 0);
    const cap = segment * 2 + 100;
    const { spool, drops, logs } = open({ maxBytes: cap });
    for (let i = 0; i < 3; i++) expect(spool.append(pts(0, 5000))).toBe(true); // three full segments
    expect(drops).toEqual([['spool_full', 5000]]);
    expect(spool.size).toBe(10_000);
    expect(spool.bytes).toBeLessThanOrEqual(cap);
    expect(logs.lines.some((l) => l['code'] === 'E_SPOOL_FULL')).toBe(true);
  });

  it('fsyncs a segment when it is closed for reading and at close', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 2));
    const before = f.calls.filter((c) => c.op === 'fsyncSync').length;
    spool.oldest(); // closes the segment being written
    expect(f.calls.filter((c) => c.op === 'fsyncSync').length).toBeGreaterThan(before);
    spool.append(pts(2, 1));
    const beforeClose = f.calls.filter((c) => c.op === 'fsyncSync').length;
    spool.close();
    expect(f.calls.filter((c) => c.op === 'fsyncSync').length).toBeGreaterThan(beforeClose);
  });

  it('counts points of a segment removed behind its back as lost, and goes on', () => {
    const { spool, drops } = open();
    spool.append(pts(0, 2));
    spool.oldest();
    spool.append(pts(2, 2)); // a second segment
    const first = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()[0] as string;
    unlinkSync(join(dir, first));
    expect(values(spool)).toEqual([2, 3]);
    expect(drops).toEqual([['spool_lost', 2]]);
    expect(spool.size).toBe(2);
  });
});
