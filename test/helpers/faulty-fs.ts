import * as fs from 'node:fs';
import type { SpoolFs } from '../../src/delivery/spool.ts';
import type { Stats } from '../../src/stats.ts';

type Op = keyof SpoolFs;

/**
 * The real node:fs with faults on cue: an operation can fail with an errno (for every
 * path, or paths matching a pattern), and writes can be cut short after N bytes
 * (a short write, then ENOSPC when `fullAfter` is reached), the way a full disk behaves.
 */
export class FaultyFs {
  readonly calls: Array<{ op: Op; arg: unknown }> = [];
  #fail = new Map<Op, { errno: string; match?: RegExp }>();
  /** Bytes any single writeSync call writes at most (a short write). */
  maxWrite = Infinity;
  /** Bytes that can still be written before ENOSPC. */
  room = Infinity;
  /** List directories newest name first, as some filesystems do (the spool must sort). */
  reverseListing = false;
  /** Descriptors opened through this fs and not closed yet, with their paths. */
  readonly open = new Map<number, string>();
  /** The path of every fsynced descriptor, in order. */
  readonly synced: string[] = [];

  failOn(op: Op, errno: string, match?: RegExp): void {
    this.#fail.set(op, { errno, match });
  }

  heal(): void {
    this.#fail.clear();
    this.room = Infinity;
    this.maxWrite = Infinity;
  }

  readonly fs: SpoolFs = {
    mkdirSync: ((...a: Parameters<typeof fs.mkdirSync>) => this.#run('mkdirSync', a[0], () => fs.mkdirSync(...a))),
    // The spool lists names only (no options), so this stands in for that one overload.
    readdirSync: ((path: fs.PathLike) =>
      this.#run('readdirSync', path, () => {
        const names = fs.readdirSync(path);
        return this.reverseListing ? names.sort().reverse() : names;
      })) as unknown as typeof fs.readdirSync,
    openSync: ((...a: Parameters<typeof fs.openSync>) =>
      this.#run('openSync', a[0], () => {
        const fd = fs.openSync(...a);
        this.open.set(fd, String(a[0]));
        return fd;
      })),
    fsyncSync: ((fd: number) =>
      this.#run('fsyncSync', fd, () => {
        fs.fsyncSync(fd);
        this.synced.push(this.open.get(fd) ?? `fd ${fd}`);
      })),
    closeSync: ((fd: number) =>
      this.#run('closeSync', fd, () => {
        fs.closeSync(fd);
        this.open.delete(fd);
      })),
    readFileSync: ((...a: Parameters<typeof fs.readFileSync>) => this.#run('readFileSync', a[0], () => fs.readFileSync(...a))) as typeof fs.readFileSync,
    unlinkSync: ((p: fs.PathLike) => this.#run('unlinkSync', p, () => fs.unlinkSync(p))),
    ftruncateSync: ((fd: number, len?: number) => this.#run('ftruncateSync', fd, () => fs.ftruncateSync(fd, len))),
    writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number | null) =>
      this.#run('writeSync', fd, () => {
        if (this.room <= 0) throw errno('ENOSPC');
        const n = Math.min(len, this.maxWrite, this.room);
        const written = fs.writeSync(fd, buf, off, n, pos);
        this.room -= written;
        return written;
      })) as typeof fs.writeSync,
  };

  #run<T>(op: Op, arg: unknown, real: () => T): T {
    this.calls.push({ op, arg });
    const f = this.#fail.get(op);
    if (f && (!f.match || f.match.test(String(arg)))) throw errno(f.errno);
    return real();
  }
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault`), { code });
}

/** `queued = sent + rejected + dropped + memory + spool_pending`, from one snapshot. */
export function accounting(stats: Stats, name: string): { queued: number; accounted: number } {
  const s = stats.snapshot();
  const get = (k: string): number => s[`dest.${name}.${k}`] ?? 0;
  return { queued: get('queued'), accounted: get('sent') + get('rejected') + get('dropped') + get('memory') + get('spool_pending') };
}
