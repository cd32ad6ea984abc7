import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { RrdError } from '../errors.ts';
import { RrdtoolProcess } from './rrdtool-process.ts';

export interface RrdServiceOptions {
  /** rrdtool processes to spread files over (each file always goes to the same one). Default 2. */
  processes?: number;
  binary?: string;
  logger: Logger;
}

/** The last update of an rrd file, as `rrdtool lastupdate` reports it. */
export interface LastUpdate {
  time: Date;
  values: Record<string, string>;
}

/**
 * All the gateway's rrdtool work behind one small interface. Files are sharded by
 * path over a few pipe-mode processes, so updates of one file stay in order.
 */
export class RrdService {
  readonly #shards: RrdtoolProcess[];
  readonly #logger: Logger;
  /** Files known to exist, or a creation under way, keyed by absolute path. */
  readonly #ready = new Map<string, Promise<void>>();

  constructor(options: RrdServiceOptions) {
    const n = options.processes ?? 2;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`rrdtool processes must be 1..64, got ${n}`);
    this.#logger = options.logger;
    this.#shards = Array.from({ length: n }, () => new RrdtoolProcess({ binary: options.binary, logger: options.logger }));
  }

  /** Commands written to rrdtool and not yet answered, over all processes. */
  get inFlight(): number {
    return this.#shards.reduce((sum, s) => sum + s.inFlight, 0);
  }

  /** Pids of the running rrdtool processes. */
  get pids(): number[] {
    return this.#shards.map((s) => s.pid).filter((p): p is number => p !== undefined);
  }

  /**
   * Creates `path` from `createArgs` unless it exists. Safe to call for every update:
   * after the first call it costs one Map lookup.
   */
  ensure(path: string, createArgs: readonly string[]): Promise<void> {
    let ready = this.#ready.get(path);
    if (ready === undefined) {
      ready = this.#createIfMissing(path, createArgs);
      this.#ready.set(path, ready);
      ready.catch(() => this.#ready.delete(path)); // let the next update try again
    }
    return ready;
  }

  /** `rrdtool update path value`; retried once if rrdtool died under it. */
  async update(path: string, value: string): Promise<void> {
    await this.#run(path, ['update', path, value]);
  }

  async lastUpdate(path: string): Promise<LastUpdate> {
    const lines = await this.#run(path, ['lastupdate', path]);
    // Output: " ds1 ds2", "", "<time>: v1 v2"
    const names = (lines[0] ?? '').trim().split(/\s+/);
    const last = lines.find((l) => /^\d+:/.test(l));
    if (last === undefined) throw new RrdError('E_RRD_COMMAND', `no lastupdate line for ${path}`);
    const [time, ...values] = last.replace(':', '').trim().split(/\s+/);
    const out: Record<string, string> = {};
    names.forEach((name, i) => (out[name] = values[i] ?? 'U'));
    return { time: new Date(Number(time) * 1000), values: out };
  }

  /** Lets every process finish what it was sent, then stops them. */
  async close(): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.close()));
  }

  async #createIfMissing(path: string, createArgs: readonly string[]): Promise<void> {
    try {
      await access(path);
      return;
    } catch {
      // missing: create it
    }
    await mkdir(dirname(path), { recursive: true });
    try {
      // --no-overwrite: never clobber a file that appeared since the check.
      await this.#run(path, ['create', path, '--no-overwrite', ...createArgs]);
      this.#logger.info({ path }, 'created rrd file');
    } catch (err) {
      if (err instanceof RrdError && /exists/i.test(err.message)) return;
      throw err;
    }
  }

  async #run(path: string, args: string[]): Promise<string[]> {
    const shard = this.#shardFor(path);
    try {
      return await shard.run(args);
    } catch (err) {
      if (err instanceof RrdError && err.code === 'E_RRD_DIED') return shard.run(args);
      throw err;
    }
  }

  #shardFor(path: string): RrdtoolProcess {
    let h = 0;
    for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) | 0;
    return this.#shards[Math.abs(h) % this.#shards.length] as RrdtoolProcess;
  }
}
