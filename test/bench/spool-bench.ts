import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { Spool } from '../../src/delivery/spool.ts';

export interface SpoolBenchResult {
  store: string;
  appendPerSec: number;
  appendMB: number;
  drainPerSec: number;
  drainMB: number;
}

const READINGS = 100_000;
const BATCH = 500;

/** Bytes this process has caused to be written to storage (/proc/self/io). */
const written = (): number => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);

const reading = (i: number): MetricPoint[] => [
  { clientId: 'board-1', source: 'temperature', value: i / 100, timeMs: 1_795_459_000_000 + i },
  { clientId: 'board-1', source: 'humidity', value: 50, timeMs: 1_795_459_000_000 + i },
];

/**
 * The spool's pattern during an outage: one append per reading (2 points), then a drain
 * in batches of 500 with the progress recorded after each batch.
 */
export function benchSegments(): SpoolBenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'rrduino-spool-bench-'));
  const spool = new Spool({ dir, logger: createLogger('silent'), onDrop: () => undefined });
  try {
    let w = written();
    let t = performance.now();
    for (let i = 0; i < READINGS; i++) spool.append(reading(i));
    const append = { s: (performance.now() - t) / 1000, bytes: written() - w };
    w = written();
    t = performance.now();
    let points = 0;
    for (let seg = spool.oldest(); seg; seg = spool.oldest()) {
      for (let off = seg.delivered; off < seg.points.length; off += BATCH) {
        const n = Math.min(BATCH, seg.points.length - off);
        points += n;
        spool.markDelivered(seg.seq, off + n);
      }
    }
    const drain = { s: (performance.now() - t) / 1000, bytes: written() - w };
    return { store: 'segments (ours)', appendPerSec: READINGS / append.s, appendMB: append.bytes / 1e6, drainPerSec: points / drain.s, drainMB: drain.bytes / 1e6 };
  } finally {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SqliteDb {
  pragma(s: string): unknown;
  exec(s: string): void;
  prepare(s: string): { run(...a: unknown[]): unknown; all(): Array<{ id: number }> };
  transaction<A extends unknown[]>(f: (...a: A) => void): (...a: A) => void;
  close(): void;
}

/**
 * The same pattern in SQLite (WAL, synchronous=NORMAL, a transaction per reading), if
 * better-sqlite3 is installed (`npm install --no-save better-sqlite3@12`); else undefined.
 */
export async function benchSqlite(): Promise<SpoolBenchResult | undefined> {
  let Database: new (file: string) => SqliteDb;
  try {
    const name = 'better-sqlite3'; // not a dependency: loaded only when installed by hand
    Database = ((await import(name)) as { default: new (file: string) => SqliteDb }).default;
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'rrduino-spool-bench-'));
  const db = new Database(join(dir, 'spool.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE p (id INTEGER PRIMARY KEY, c TEXT, s TEXT, v REAL, t INTEGER)');
    const insert = db.prepare('INSERT INTO p (c, s, v, t) VALUES (?, ?, ?, ?)');
    const append = db.transaction((pts: MetricPoint[]) => {
      for (const p of pts) insert.run(p.clientId, p.source, p.value, p.timeMs);
    });
    let w = written();
    let t = performance.now();
    for (let i = 0; i < READINGS; i++) append(reading(i));
    const a = { s: (performance.now() - t) / 1000, bytes: written() - w };
    const select = db.prepare(`SELECT id, c, s, v, t FROM p ORDER BY id LIMIT ${BATCH}`);
    const remove = db.prepare('DELETE FROM p WHERE id <= ?');
    w = written();
    t = performance.now();
    let points = 0;
    for (let rows = select.all(); rows.length > 0; rows = select.all()) {
      points += rows.length;
      remove.run((rows[rows.length - 1] as { id: number }).id);
    }
    const d = { s: (performance.now() - t) / 1000, bytes: written() - w };
    return { store: 'SQLite (better-sqlite3 12)', appendPerSec: READINGS / a.s, appendMB: a.bytes / 1e6, drainPerSec: points / d.s, drainMB: d.bytes / 1e6 };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
