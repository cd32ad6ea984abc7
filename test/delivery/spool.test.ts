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

describe('Spool, edge by edge', () => {
  const row = (v: number): string => `${JSON.stringify(['b', 't', v, 1])}\n`;
  const jsonl = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
  const spoolErrors = (logs: ReturnType<typeof memoryLogger>): Array<Record<string, unknown>> => logs.lines.filter((l) => l['code'] === 'E_SPOOL');
  const drainAll = (spool: Spool): number[] => {
    const got: number[] = [];
    for (let seg = spool.oldest(); seg; seg = spool.oldest()) {
      got.push(...seg.points.slice(seg.delivered - seg.first).map((p) => p.value as number));
      spool.markDelivered(seg.seq, seg.first + seg.points.length);
    }
    return got;
  };

  it('names what it was doing in each E_SPOOL line (op), one line per fault', () => {
    const cases: Array<[string, (f: FaultyFs, s: Spool) => void]> = [
      ['append', (f, s) => { f.room = 0; s.append(pts(0, 1)); }],
      ['prepend', (f, s) => { f.room = 0; s.prepend(pts(0, 1)); }],
      ['read', (f, s) => { s.append(pts(0, 1)); f.failOn('readFileSync', 'EIO'); s.oldest(); }],
      ['record', (f, s) => { s.append(pts(0, 2)); const seq = s.oldest()?.seq ?? 0; f.failOn('openSync', 'EROFS'); s.markDelivered(seq, 1); }],
      ['remove', (f, s) => { s.append(pts(0, 2)); const seq = s.oldest()?.seq ?? 0; f.failOn('unlinkSync', 'EROFS'); s.markDelivered(seq, 2); }],
      ['sync', (f, s) => { s.append(pts(0, 5000)); f.failOn('fsyncSync', 'EIO'); s.append(pts(0, 1)); }],
    ];
    const base = dir;
    for (const [op, provoke] of cases) {
      dir = join(base, op);
      const f = new FaultyFs();
      const { spool, logs } = open({ fs: f });
      provoke(f, spool);
      expect(spoolErrors(logs).map((l) => l['op']), op).toEqual([op]);
      spool.close();
    }
    dir = join(base, 'open');
    const f = new FaultyFs();
    f.failOn('readdirSync', 'EACCES');
    const { logs } = open({ fs: f });
    expect(spoolErrors(logs).map((l) => l['op'])).toEqual(['open']);
  });

  it('gives the errno of a write that makes no progress as EIO', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    f.maxWrite = 0;
    spool.append(pts(0, 1));
    expect(spoolErrors(logs).map((l) => l['errno'])).toEqual(['EIO']);
  });

  it('is not empty while a point waits, and empty once all are delivered', () => {
    const { spool } = open();
    expect(spool.isEmpty).toBe(true);
    spool.append(pts(0, 2));
    expect(spool.isEmpty).toBe(false);
    spool.markDelivered(spool.oldest()?.seq ?? 0, 2);
    expect(spool.isEmpty).toBe(true);
  });

  it('makes no file for an empty append or prepend, and answers true', () => {
    const { spool } = open();
    expect(spool.append([])).toBe(true);
    expect(spool.prepend([])).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('does not touch the disk for a prepend or a read while a fault is fresh', () => {
    const f = new FaultyFs();
    let t = 1_000_000;
    const { spool } = open({ fs: f, now: () => t });
    spool.append(pts(0, 1));
    const seq = spool.oldest()?.seq ?? 0;
    f.room = 0;
    expect(spool.append(pts(1, 1))).toBe(false);
    f.heal();
    const calls = f.calls.length;
    expect(spool.prepend(pts(5, 1))).toBe(false);
    expect(spool.read(seq)).toBeUndefined();
    expect(f.calls.length).toBe(calls);
    t += 5_000;
    expect(spool.read(seq)?.points.map((p) => p.value)).toEqual([0]);
  });

  it('answers undefined for a segment it does not have', () => {
    const { spool } = open();
    spool.append(pts(0, 1));
    expect(spool.read(12345)).toBeUndefined();
  });

  it('counts the retry interval from the last try, on a clock that does not start at 0', () => {
    const f = new FaultyFs();
    let t = 1_700_000_000_000;
    const { spool, logs } = open({ fs: f, now: () => t });
    f.room = 0;
    expect(spool.append(pts(0, 1))).toBe(false);
    t += 5_000;
    expect(spool.append(pts(0, 1))).toBe(false); // tried again, fails again: not logged again
    f.heal();
    t += 4_999; // counted from the second try
    expect(spool.append(pts(0, 1))).toBe(false);
    t += 1;
    expect(spool.append(pts(0, 1))).toBe(true);
    expect(spoolErrors(logs)).toHaveLength(1);
    expect(logs.lines.find((l) => l['faultySeconds'] !== undefined)?.['faultySeconds']).toBe(10);
  });

  it('finds the segments already on disk once a directory it could not list can be read', () => {
    const first = open().spool;
    first.append(pts(0, 3));
    first.close();
    const f = new FaultyFs();
    f.failOn('readdirSync', 'EACCES');
    let t = 0;
    const { spool } = open({ fs: f, now: () => t });
    expect(spool.size).toBe(0);
    f.heal();
    t = 5_000;
    expect(spool.append(pts(3, 1))).toBe(true);
    expect(spool.size).toBe(4);
    expect(drainAll(spool)).toEqual([0, 1, 2, 3]);
  });

  it('sorts the segments itself, whatever order the directory lists them in', () => {
    for (let i = 0; i < 3; i++) {
      const s = open().spool;
      s.append(pts(i * 10, 2));
      s.close();
    }
    const f = new FaultyFs();
    f.reverseListing = true;
    expect(drainAll(open({ fs: f }).spool)).toEqual([0, 1, 10, 11, 20, 21]);
  });

  it('ignores files in its directory that are not its segments', () => {
    writeFileSync(join(dir, 'old-seg-0001000000001.jsonl'), row(1));
    writeFileSync(join(dir, 'seg-0001000000002.jsonl.bak'), row(2));
    writeFileSync(join(dir, 'seg-0001000000003.jsonl'), row(3));
    const { spool } = open();
    expect(spool.size).toBe(1);
    expect(drainAll(spool)).toEqual([3]);
  });

  it('does not call an empty segment file torn', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), '');
    const { spool, logs } = open();
    expect(spool.size).toBe(0);
    expect(logs.lines.filter((l) => l['segments'] !== undefined)).toEqual([]);
  });

  it('reads a healthy segment without an error line', () => {
    const { spool, logs } = open();
    spool.append(pts(0, 3));
    spool.markDelivered(spool.oldest()?.seq ?? 0, 1);
    expect(spool.oldest()?.points).toHaveLength(3);
    expect(logs.lines.filter((l) => l['level'] === 50)).toEqual([]);
  });

  it('says which segment lost how many lines when it cannot read them back', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), `${row(1)}garbage\n${row(3)}`);
    const { spool, logs, drops } = open();
    spool.oldest();
    expect(drops).toEqual([['spool_corrupt', 1]]);
    expect(spoolErrors(logs).map((l) => [l['segment'], l['lines']])).toEqual([[1_000_000_001, 1]]);
  });

  it('says which segment disappeared', () => {
    const { spool, logs } = open();
    spool.append(pts(0, 1));
    const seq = spool.oldest()?.seq ?? 0;
    for (const n of jsonl()) unlinkSync(join(dir, n));
    expect(spool.oldest()).toBeUndefined();
    expect(spoolErrors(logs).map((l) => l['segment'])).toEqual([seq]);
  });

  it('skips empty lines inside a segment, counting and reading the same points', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), `${row(1)}\n\n${row(2)}\n${row(3)}`);
    const { spool, drops } = open();
    expect(spool.size).toBe(3);
    expect(drainAll(spool)).toEqual([1, 2, 3]);
    expect(drops).toEqual([]);
  });

  it('leaves out a last row without its newline even when it parses (a kill just before the newline)', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), `${row(1)}${row(2).trimEnd()}`);
    const { spool } = open();
    expect(spool.size).toBe(1);
    expect(spool.oldest()?.points.map((p) => p.value)).toEqual([1]);
  });

  it('reads a segment delivered and blanked whole as holding nothing to send', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool } = open({ fs: f, now: () => t });
    spool.append(pts(0, 2));
    const seq = spool.oldest()?.seq ?? 0;
    f.failOn('openSync', 'EACCES', /\.done$/);
    f.failOn('unlinkSync', 'EACCES', /\.jsonl$/);
    spool.markDelivered(seq, 2);
    f.heal();
    t = 5_000;
    expect(spool.read(seq)).toEqual({ seq, points: [], first: 2, delivered: 2 });
  });

  it('writes progress to a .done file beside the segment, at full width, even through short writes', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 12));
    const seq = spool.oldest()?.seq ?? 0;
    f.maxWrite = 4;
    spool.markDelivered(seq, 3);
    spool.markDelivered(seq, 11);
    expect(readFileSync(join(dir, `seg-${String(seq).padStart(13, '0')}.done`), 'utf8')).toBe('000000000000011\n');
    expect(spool.faulty).toBe(false);
  });

  it('is not in a fault when blanking the lines recorded the progress', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.append(pts(0, 3));
    f.failOn('openSync', 'EACCES', /\.done$/);
    spool.markDelivered(spool.oldest()?.seq ?? 0, 1);
    expect(spool.faulty).toBe(false);
    expect(spoolErrors(logs)).toEqual([]);
  });

  it('removes a wholly delivered segment it could not remove once the disk works again', () => {
    const f = new FaultyFs();
    let t = 0;
    const { spool } = open({ fs: f, now: () => t });
    spool.append(pts(0, 2));
    const seq = spool.oldest()?.seq ?? 0;
    f.failOn('unlinkSync', 'EROFS');
    f.failOn('openSync', 'EROFS'); // no .done, and no blanking either
    spool.markDelivered(seq, 2);
    expect(jsonl()).toHaveLength(1);
    f.heal();
    t = 5_000;
    spool.append(pts(2, 1)); // the disk works: the refused progress is written, the segment removed
    expect(jsonl()).toHaveLength(1);
    expect(open().spool.size).toBe(1);
  });

  it('writes progress handed over by an earlier spool of this process, so a later process does not send it again', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 4));
    const seq = spool.oldest()?.seq ?? 0;
    f.failOn('openSync', 'EROFS');
    spool.markDelivered(seq, 3);
    spool.close(); // a SIGHUP: the next spool of the directory is told
    f.heal();
    const next = open().spool;
    expect(next.size).toBe(1);
    next.close(); // writes what it was told, so there is nothing left to hand on
    const later = open().spool; // as in a new process
    expect(later.size).toBe(1);
  });

  it('writes no delivery record for a segment nothing was delivered from', () => {
    const first = open().spool;
    first.append(pts(0, 2));
    first.close();
    const { spool } = open();
    spool.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.done'))).toEqual([]);
  });

  it('closes every file it opens, whatever fails', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 3));
    const seq = spool.oldest()?.seq ?? 0;
    spool.markDelivered(seq, 1); // a .done file is open
    f.failOn('openSync', 'EACCES', /\.done$/);
    f.room = 0;
    spool.prepend(pts(9, 1)); // fails mid-write
    f.heal();
    f.failOn('fsyncSync', 'EIO', /\.jsonl$/);
    spool.markDelivered(seq, 2);
    f.heal();
    spool.close();
    expect([...f.open.values()]).toEqual([]);
  });

  it('closes the blanked segment even when the blanking fails', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 3));
    const seq = spool.oldest()?.seq ?? 0;
    spool.close();
    const s = open({ fs: f }).spool;
    f.failOn('openSync', 'EACCES', /\.done$/);
    f.failOn('fsyncSync', 'EIO');
    s.markDelivered(seq, 1);
    expect([...f.open.values()]).toEqual([]);
  });

  it('fsyncs the directory when it starts a segment, and the .done files at close', () => {
    const f = new FaultyFs();
    const { spool } = open({ fs: f });
    spool.append(pts(0, 3));
    expect(f.synced).toContain(dir);
    spool.markDelivered(spool.oldest()?.seq ?? 0, 1);
    spool.close();
    expect(f.synced.at(-1)).toMatch(/\.done$/);
  });

  it('does not sync or fault when closed without having written', () => {
    const f = new FaultyFs();
    const { spool, logs } = open({ fs: f });
    spool.close();
    expect(f.synced).toEqual([]);
    expect(spool.faulty).toBe(false);
    expect(logs.lines).toEqual([]);
  });

  it('logs an fsync that fails when a segment is closed, or a second after an append', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const f = new FaultyFs();
      const { spool, logs } = open({ fs: f });
      spool.append(pts(0, 1));
      f.failOn('fsyncSync', 'EIO');
      vi.advanceTimersByTime(1_000);
      expect(spoolErrors(logs).map((l) => l['op'])).toEqual(['sync']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('has nothing to sync a second after an append whose segment was delivered and removed', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const f = new FaultyFs();
      const { spool, logs } = open({ fs: f });
      spool.append(pts(0, 2));
      spool.markDelivered(spool.oldest()?.seq ?? 0, 2);
      const synced = f.synced.length;
      vi.advanceTimersByTime(1_000);
      expect(f.synced.length).toBe(synced);
      expect(spool.faulty).toBe(false);
      expect(logs.lines.filter((l) => l['level'] === 50)).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the newest points safe when the segment being written is delivered whole while older ones wait', () => {
    const { spool } = open();
    spool.prepend(pts(0, 2)); // an older segment, waiting
    spool.append(pts(10, 2)); // the segment being written
    const writing = spool.pending.at(-1)?.seq ?? 0;
    spool.markDelivered(writing, 2);
    spool.append(pts(20, 2));
    spool.close();
    expect(drainAll(open().spool)).toEqual([0, 1, 20, 21]);
  });

  it('fills its cap to the byte: a segment that makes it exactly full drops nothing', () => {
    const one = Buffer.byteLength(row(0));
    const { spool, drops } = open({ maxBytes: one * 3 });
    spool.prepend(pts(0, 1));
    spool.append(pts(0, 2)); // exactly the cap
    expect(drops).toEqual([]);
    spool.append(pts(0, 1)); // one over: the prepended segment goes
    expect(drops).toEqual([['spool_full', 1]]);
  });

  it('counts only the undelivered points of a partly delivered segment it drops for room, in the drop and the log', () => {
    const one = Buffer.byteLength(row(0));
    const { spool, drops, logs } = open({ maxBytes: one * 5 });
    spool.prepend(pts(0, 4));
    const seq = spool.oldest()?.seq ?? 0;
    spool.markDelivered(seq, 1);
    spool.append(pts(0, 2)); // over: the prepended segment, 3 of its 4 undelivered, goes
    expect(drops).toEqual([['spool_full', 3]]);
    expect(logs.lines.find((l) => l['code'] === 'E_SPOOL_FULL')?.['dropped']).toBe(3);
  });

  it('neither counts nor logs a drop when only the segment being written is over the cap', () => {
    const one = Buffer.byteLength(row(0));
    const { spool, drops, logs } = open({ maxBytes: one * 2 });
    spool.append(pts(0, 2));
    spool.append(pts(0, 1));
    expect(drops).toEqual([]);
    expect(logs.lines.filter((l) => l['code'] === 'E_SPOOL_FULL')).toEqual([]);
  });

  it('counts no drop for a wholly delivered segment it removes for room', () => {
    const one = Buffer.byteLength(row(0));
    const f = new FaultyFs();
    let t = 0;
    const { spool, drops } = open({ fs: f, maxBytes: one * 3, now: () => t });
    spool.prepend(pts(0, 2));
    const seq = spool.oldest()?.seq ?? 0;
    f.failOn('unlinkSync', 'EROFS', /\.jsonl$/);
    spool.markDelivered(seq, 2); // stays on disk, recorded as delivered
    f.heal();
    t = 5_000;
    spool.append(pts(0, 2)); // over the cap: it goes now
    expect(drops).toEqual([]);
  });
});
