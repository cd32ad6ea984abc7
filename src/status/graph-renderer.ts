import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { RrdError } from '../errors.ts';
import { whileLocked } from '../rrd/rrd-service.ts';
import { parseRrdInfo, type RrdInfo } from '../rrd/rrd-info.ts';

/** Output larger than this is not an rrd graph or info: the process is stopped. */
const MAX_OUTPUT_BYTES = 8 << 20;
const RUN_TIMEOUT_MS = 20_000;
/** rrdtool commands waiting or running, at most: past it a new drawing is refused (E_GRAPH_BUSY), not queued. */
export const MAX_QUEUED_COMMANDS = 16;

/**
 * Draws graphs with `rrdtool graph` in processes of their own, at a lower CPU priority than
 * the gateway, one at a time: the rrdtool processes that store updates never wait for a
 * drawing. Each drawing is kept for its period's cache time, and requests for one that is
 * being drawn share it.
 */
export class GraphRenderer {
  readonly #binary: string;
  readonly #now: () => number;
  readonly #cache = new Map<string, { png: Buffer; atMs: number }>();
  readonly #drawing = new Map<string, Promise<Buffer>>();
  #queue: Promise<unknown> = Promise.resolve();
  /** Commands in `#queue`, waiting or running. */
  #queued = 0;

  constructor(options: { binary?: string; now?: () => number } = {}) {
    this.#binary = options.binary ?? 'rrdtool';
    this.#now = options.now ?? Date.now;
  }

  /** rrdtool commands waiting or running. */
  get queued(): number {
    return this.#queued;
  }

  /** `rrdtool info` of a file (through rrdcached, which flushes it first, when given). */
  async info(file: string, rrdcached?: string): Promise<RrdInfo> {
    return parseRrdInfo((await this.#serial(['info', ...(rrdcached ? ['--daemon', rrdcached] : []), file])).toString('utf8'));
  }

  /**
   * A PNG from `rrdtool graph - …args`, drawn at most once per `cacheMs` for `key`; `args`
   * is asked for only when a drawing is due (it may itself run rrdtool info).
   */
  render(key: string, cacheMs: number, args: () => Promise<readonly string[]>): Promise<Buffer> {
    const cached = this.#cache.get(key);
    if (cached && this.#now() - cached.atMs < cacheMs) return Promise.resolve(cached.png);
    let drawing = this.#drawing.get(key);
    if (drawing === undefined) {
      // A page cannot wait minutes for a graph: past the bound the browser is told to come back.
      if (this.#queued >= MAX_QUEUED_COMMANDS) return Promise.reject(new RrdError('E_GRAPH_BUSY', `${this.#queued} graph commands are waiting; try again in a few seconds`));
      drawing = args().then((a) => this.#serial(a)).then((png) => {
        this.#cache.set(key, { png, atMs: this.#now() });
        return png;
      });
      this.#drawing.set(key, drawing);
      void drawing.finally(() => this.#drawing.delete(key)).catch(() => undefined);
    }
    return drawing;
  }

  /** Runs one rrdtool command after the ones before it (again while the gateway holds the file's lock). */
  #serial(args: readonly string[]): Promise<Buffer> {
    const attempt = (): Promise<Buffer> => whileLocked(() => this.#run(args));
    this.#queued++;
    const run = this.#queue.then(attempt, attempt).finally(() => this.#queued--);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #run(args: readonly string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid !== undefined) {
        try {
          setPriority(child.pid, 10); // below the gateway and its update processes
        } catch {
          // Not allowed here: it still runs, only at the same priority.
        }
      }
      const out: Buffer[] = [];
      let size = 0;
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.stdout.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
        else out.push(c);
      });
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new RrdError('E_RRD_COMMAND', `cannot run ${this.#binary}: ${err.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(Buffer.concat(out));
        else reject(new RrdError('E_RRD_COMMAND', stderr.trim().replace(/^ERROR: /, '') || `rrdtool ${args[0] ?? ''} ended with ${signal ?? `code ${code}`}`));
      });
    });
  }
}
