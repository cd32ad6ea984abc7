import { appendFileSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
      again.markDelivered(seg.seq, seg.points.length);
    }
    expect(got).toEqual([0, 2]);
  });

  it('records progress by blanking the delivered lines when no .done file can be made, and a restart resumes there', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 4));
    const seg = spool.oldest();
    f.failOn('openSync', 'EACCES', /\.done$/); // a directory the gateway can no longer write
    expect(spool.markDelivered(seg?.seq ?? 0, 2)).toBe(2);
    expect(spool.size).toBe(2);
    expect(readdirSync(dir).filter((n) => n.endsWith('.done'))).toEqual([]);
    // no close: a kill
    const again = open().spool;
    expect(again.size).toBe(2);
    const next = again.oldest();
    expect(next?.delivered).toBe(2);
    expect(next?.points.map((p) => p.value)).toEqual([2, 3]);
    expect(next?.first).toBe(2);
  });

  it('does not throw when progress cannot be written at all (EROFS), keeps its place, and hands it to the next spool of the directory', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.append(pts(0, 4));
    const seg = spool.oldest();
    f.failOn('openSync', 'EROFS');
    expect(() => spool.markDelivered(seg?.seq ?? 0, 2)).not.toThrow();
    expect(spool.size).toBe(2);
    expect(logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'EROFS')).toBe(true);
    spool.close();
    // The next spool of this directory in this process (a SIGHUP) knows what was delivered.
    const again = open({ fs: f }).spool;
    expect(again.size).toBe(2);
    f.heal();
    expect(again.oldest()?.delivered).toBe(2);
  });

  it('writes progress the disk refused once the disk works again, so a restart after that sends nothing twice', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool } = open({ fs: f, now: () => t });
    spool.append(pts(0, 4));
    const seg = spool.oldest();
    f.failOn('openSync', 'EROFS');
    spool.markDelivered(seg?.seq ?? 0, 3);
    f.heal();
    t += 6_000;
    expect(spool.append(pts(4, 1))).toBe(true); // the disk is tried again, and works
    // no close: a kill
    const again = open().spool;
    expect(again.size).toBe(2);
    expect(again.oldest()?.points.slice((again.oldest()?.delivered ?? 0) - (again.oldest()?.first ?? 0)).map((p) => p.value)).toEqual([3, 4]);
  });

  it('records a delivered segment it cannot unlink as fully delivered, so a restart does not send it again', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.append(pts(0, 3));
    const seg = spool.oldest();
    f.failOn('unlinkSync', 'EACCES', /\.jsonl$/);
    spool.markDelivered(seg?.seq ?? 0, 3);
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
    spool.markDelivered(seg?.seq ?? 0, 3);
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

  it('fsyncs a segment when it is closed (a new one is started) and at close', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 5000));
    const before = f.calls.filter((c) => c.op === 'fsyncSync').length;
    spool.append(pts(0, 1)); // the first is full: closed, and a second started
    expect(f.calls.filter((c) => c.op === 'fsyncSync').length).toBeGreaterThan(before);
    spool.append(pts(2, 1));
    const beforeClose = f.calls.filter((c) => c.op === 'fsyncSync').length;
    spool.close();
    expect(f.calls.filter((c) => c.op === 'fsyncSync').length).toBeGreaterThan(beforeClose);
  });

  it('counts points of a segment removed behind its back as lost, and goes on', () => {
    const first = open().spool;
    first.append(pts(0, 2));
    first.close();
    const { spool, drops } = open();
    spool.append(pts(2, 2)); // a second segment
    const oldest = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()[0] as string;
    unlinkSync(join(dir, oldest));
    expect(values(spool)).toEqual([2, 3]);
    expect(drops).toEqual([['spool_lost', 2]]);
    expect(spool.size).toBe(2);
  });
});

describe('Spool reading back', () => {
  it('skips complete lines that are not points, counting their points as spool_corrupt', () => {
    const { spool } = open();
    spool.append(pts(0, 1));
    spool.close();
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.jsonl')) as string);
    const rows = ['["b","t",1,1]', '["b","t",2]', '{"a":1}', 'not json', '[1,"t",3,1]', '["b",2,3,1]', '["b","t",4,"x"]', '["b","t","5",1]', '["b","t",null,6]', '["b","t",7,7]', '["b","t",8,8,8]'];
    writeFileSync(file, `${rows.join('\n')}\n`);
    const again = open();
    expect(again.spool.size).toBe(11);
    const seg = again.spool.oldest();
    expect(seg?.points.map((p) => p.value)).toEqual([1, null, 7]);
    expect(again.drops).toEqual([['spool_corrupt', 8]]);
    expect(again.spool.size).toBe(3);
  });

  it('counts a torn last line (a kill mid-write) out of the size at start, and says so', () => {
    const { spool } = open();
    spool.append(pts(0, 2));
    spool.close();
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.jsonl')) as string);
    appendFileSync(file, '["b","t",9');
    const again = open();
    expect(again.spool.size).toBe(2);
    expect(again.logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['segments'] === 1)).toBe(true);
    expect(again.spool.oldest()?.points.map((p) => p.value)).toEqual([0, 1]);
  });

  it('counts only the segments whose last line is torn, and a wholly torn file as empty', () => {
    const { spool } = open();
    spool.append(pts(0, 2));
    spool.close();
    const reopened = open().spool; // a new spool starts a new segment
    reopened.append(pts(2, 2));
    reopened.close();
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
    appendFileSync(join(dir, files[1] as string), '["b","t",9');
    writeFileSync(join(dir, 'seg-0000999999999.jsonl'), '["b","t",8');
    const again = open();
    expect(again.logs.lines.find((l) => l['segments'] !== undefined)?.['segments']).toBe(2);
    expect(again.spool.size).toBe(4);
    expect(again.spool.oldest()?.points.map((p) => p.value)).toEqual([0, 1]); // the empty one has nothing to give
  });

  it('keeps appending to the open segment when there are older ones to read', () => {
    const first = open().spool;
    first.append(pts(0, 2));
    first.close();
    const { spool } = open();
    spool.append(pts(2, 1)); // a second segment, being written
    spool.oldest(); // the first
    spool.append(pts(3, 1));
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(2);
  });

  it('reads the segment being written without closing it: reading changes nothing on disk', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 2));
    const calls = f.calls.length;
    expect(spool.oldest()?.points.map((p) => p.value)).toEqual([0, 1]);
    expect(f.calls.slice(calls).map((c) => c.op)).toEqual(['readFileSync']);
    spool.append(pts(2, 1));
    expect(readdirSync(dir).filter((n) => n.endsWith('.jsonl'))).toHaveLength(1);
    expect(spool.oldest()?.points.map((p) => p.value)).toEqual([0, 1, 2]);
  });

  it('starts a new segment for later points once the one being written was delivered whole', () => {
    const { spool } = open();
    spool.append(pts(0, 2));
    const seg = spool.oldest();
    expect(spool.markDelivered(seg?.seq ?? 0, 2)).toBe(2);
    expect(spool.append(pts(2, 1))).toBe(true);
    spool.close();
    const again = open().spool;
    expect(again.size).toBe(1);
    expect(again.oldest()?.points.map((p) => p.value)).toEqual([2]);
  });

  it('treats a read error other than a missing file as a fault, and reads the segment later', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool, drops } = open({ fs: f, now: () => t });
    spool.append(pts(0, 2));
    f.failOn('readFileSync', 'EIO', /\.jsonl$/);
    expect(spool.oldest()).toBeUndefined();
    expect(spool.size).toBe(2);
    expect(drops).toEqual([]);
    f.heal();
    t = 5_000;
    expect(spool.oldest()?.points.map((p) => p.value)).toEqual([0, 1]);
  });

  it('reads segments oldest first, a prepended one (fewer digits) before the rest', () => {
    const { spool } = open();
    spool.append(pts(10, 2));
    spool.prepend(pts(0, 2)); // seq 999999999 sorts after 1000000001 as text
    spool.close();
    const again = open().spool;
    const got: number[] = [];
    for (let seg = again.oldest(); seg; seg = again.oldest()) {
      got.push(...seg.points.map((p) => p.value as number));
      again.markDelivered(seg.seq, seg.points.length);
    }
    expect(got).toEqual([0, 1, 10, 11]);
  });

  it('rewrites the delivered count in place, so a restart resumes after the last batch', () => {
    const { spool } = open();
    spool.append(pts(0, 10));
    const seg = spool.oldest();
    spool.markDelivered(seg?.seq ?? 0, 2);
    spool.markDelivered(seg?.seq ?? 0, 7);
    expect(open().spool.oldest()?.delivered).toBe(7);
  });

  it('ignores a delivery record for a segment it does not have', () => {
    const { spool } = open();
    spool.append(pts(0, 3));
    spool.markDelivered(42, 3);
    expect(spool.size).toBe(3);
  });

  it('keeps its byte count equal to the files on disk', () => {
    const { spool } = open();
    spool.append(pts(0, 3));
    spool.prepend(pts(3, 2));
    const onDisk = (): number => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(spool.bytes).toBe(onDisk());
    spool.close();
    expect(open().spool.bytes).toBe(onDisk());
  });
});

describe('Spool progress written into the segment itself', () => {
  const row = (v: number): string => `${JSON.stringify(['b', 't', v, 1])}\n`;

  it('reads only leading blanked lines as delivered; a blank after a point is an unreadable line', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), `      \n${' '.repeat(9)}\n${row(2)}   \n${row(4)}`);
    const { spool, drops } = open();
    expect(spool.size).toBe(3); // 5 lines, 2 of them delivered
    const seg = spool.oldest();
    expect(seg?.first).toBe(2);
    expect(seg?.delivered).toBe(2);
    expect(seg?.points.map((p) => p.value)).toEqual([2, 4]);
    expect(drops).toEqual([['spool_corrupt', 1]]);
  });

  it('blanks exactly the delivered lines, newlines kept, so the rest reads back the same', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(10, 3));
    const seg = spool.oldest();
    f.failOn('openSync', 'EACCES', /\.done$/);
    spool.markDelivered(seg?.seq ?? 0, 2);
    const text = segmentText();
    const lines = text.split('\n');
    expect(lines.slice(0, 2).every((l) => l.length > 0 && l.trim() === '')).toBe(true);
    expect(lines[2]).toBe(row(12).trimEnd());
    expect(text.length).toBe(pts(10, 3).reduce((n, p) => n + row(p.value as number).length, 0));
  });

  it('a segment blanked whole, which could not be removed, is neither pending nor sent again', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 2));
    const seg = spool.oldest();
    f.failOn('openSync', 'EACCES', /\.done$/);
    f.failOn('unlinkSync', 'EACCES', /\.jsonl$/);
    expect(spool.markDelivered(seg?.seq ?? 0, 2)).toBe(2);
    expect(spool.isEmpty).toBe(true);
    expect(spool.pending).toEqual([]);
    const again = open().spool; // a new process
    expect(again.size).toBe(0);
    expect(again.oldest()).toBeUndefined();
  });

  it('answers what markDelivered newly took off: nothing for progress it already had, or for a count past the segment', () => {
    const { spool } = open();
    spool.append(pts(0, 4));
    const seq = spool.oldest()?.seq ?? 0;
    expect(spool.markDelivered(seq, 2)).toBe(2);
    expect(spool.markDelivered(seq, 2)).toBe(0);
    expect(spool.markDelivered(seq, 1)).toBe(0);
    expect(spool.markDelivered(seq, 9)).toBe(2); // capped at the segment's 4
    expect(spool.size).toBe(0);
  });
});

describe('Spool faults, in detail', () => {
  it('tries the disk again exactly 5 s after a fault, not before', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool } = open({ fs: f, now: () => t });
    f.room = 0;
    expect(spool.append(pts(0, 1))).toBe(false);
    f.heal();
    t = 4_999;
    expect(spool.append(pts(0, 1))).toBe(false);
    t = 5_000;
    expect(spool.append(pts(0, 1))).toBe(true);
  });

  it('logs how long the disk was faulty when it works again', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool, logs } = open({ fs: f, now: () => t });
    f.room = 0;
    spool.append(pts(0, 1));
    f.heal();
    t = 12_000;
    spool.append(pts(0, 1));
    expect(logs.lines.find((l) => l['faultySeconds'] !== undefined)?.['faultySeconds']).toBe(12);
  });

  it('treats a write that makes no progress as a failed append', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    f.maxWrite = 0;
    expect(spool.append(pts(0, 1))).toBe(false);
    expect(spool.size).toBe(0);
  });

  it('leaves no partial file when a prepend fails', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    f.room = 5;
    expect(spool.prepend(pts(0, 3))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(spool.size).toBe(0);
  });

  it('never drops the segment being read or written to make room', () => {
    const segment = pts(0, 5000).reduce((n, p) => n + Buffer.byteLength(`${JSON.stringify([p.clientId, p.source, p.value, p.timeMs])}\n`), 0);
    let t = 0;
    const { spool, drops, logs } = open({ maxBytes: segment * 3 + 100, now: () => t });
    for (let i = 0; i < 3; i++) spool.append(pts(0, 5000));
    const reading = spool.oldest();
    spool.hold(reading?.seq); // segment 1 is now being read
    spool.append(pts(0, 5000)); // over the cap: segment 2 goes, not 1 (read) nor 3 (full, not written)
    expect(drops).toEqual([['spool_full', 5000]]);
    spool.markDelivered(reading?.seq ?? 0, 5000);
    t = 30_000;
    spool.append(pts(0, 5000));
    spool.append(pts(0, 5000)); // over again within the minute: counted, not logged again
    expect(drops.length).toBe(2);
    expect(logs.lines.filter((l) => l['code'] === 'E_SPOOL_FULL')).toHaveLength(1);
    t = 61_000;
    spool.append(pts(0, 5000));
    spool.append(pts(0, 5000));
    expect(logs.lines.filter((l) => l['code'] === 'E_SPOOL_FULL')).toHaveLength(2);
  });

  it('fsyncs what it appended within a second, and the delivery records at close', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const f = new FaultyFs();
      const { spool } = open({ fs: f });
      spool.append(pts(0, 3));
      const syncs = (): number => f.calls.filter((c) => c.op === 'fsyncSync').length;
      const before = syncs();
      vi.advanceTimersByTime(1_000);
      expect(syncs()).toBe(before + 1);
      vi.advanceTimersByTime(5_000); // nothing new appended: no more syncs
      expect(syncs()).toBe(before + 1);
      const seg = spool.oldest();
      spool.markDelivered(seg?.seq ?? 0, 1);
      const beforeClose = syncs();
      spool.close();
      expect(syncs()).toBeGreaterThanOrEqual(beforeClose + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
