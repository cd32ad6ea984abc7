import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import { RrdError } from '../errors.ts';
import { classifyReplyLine, formatCommand } from './rrd-command.ts';

/** How a command's reply comes back: an error, or the output lines before `OK`. */
export type RrdReply = (err: Error | undefined, lines: string[]) => void;

interface Pending {
  done: RrdReply;
  /** Output lines so far; most commands (updates) print none, so made on the first. */
  lines: string[] | undefined;
}

const NO_LINES: string[] = [];

/** Output lines kept per reply; the usage text after a bad command is ~100 lines. */
const MAX_REPLY_LINES = 100_000;

export interface RrdtoolProcessOptions {
  /** The rrdtool binary. Default `rrdtool` from PATH. */
  binary?: string;
  logger: Logger;
}

/**
 * One long-lived `rrdtool -` (pipe mode). Commands are written without waiting for
 * the previous reply (replies come back in order), which is ~3× faster than
 * waiting for each (measured: ~16.5k vs ~5.6k updates/s). If the process dies, pending commands fail with
 * E_RRD_DIED and the next command starts a new process.
 */
export class RrdtoolProcess {
  readonly #binary: string;
  readonly #logger: Logger;
  #child: ChildProcessWithoutNullStreams | undefined;
  #pending: Pending[] = [];
  #partial = '';
  #closed = false;
  /** Command lines waiting for this turn's write. */
  #outbox: string[] = [];
  #writeScheduled = false;
  #exited: Promise<void> = Promise.resolve();
  /** Why the last process ended unasked, until a command succeeds again. */
  #failure: string | undefined;

  constructor(options: RrdtoolProcessOptions) {
    this.#binary = options.binary ?? 'rrdtool';
    this.#logger = options.logger;
  }

  /** The running rrdtool's pid (diagnostics, and tests that kill it). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Commands written and not yet answered. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Set when rrdtool could not start or died, until it answers a command again. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Runs one command; resolves with the output lines before `OK`. */
  run(args: readonly string[]): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      const line = formatCommand(args); // a throw here rejects
      this.sendLine(line, (err, lines) => (err === undefined ? resolve(lines) : reject(err)));
    });
  }

  /**
   * Runs one command line (made by {@link formatCommand}, or of parts it checked) and calls `done`
   * with its reply, never synchronously. The callback form is the update path's: a promise per
   * command is garbage the collector pays for at every update when boards are many and batches
   * are one value each.
   */
  sendLine(line: string, done: RrdReply): void {
    if (this.#closed) {
      process.nextTick(done, new RrdError('E_RRD_CLOSED', 'rrdtool is shut down'), NO_LINES);
      return;
    }
    if (this.#child === undefined) this.#start();
    this.#pending.push({ done, lines: undefined });
    // Commands sent in one turn of the event loop (every board's reads in it) go to the pipe in
    // one write: a write per command is a syscall and a wake-up of rrdtool per update, a quarter
    // of the gateway's time at 10k updates/s from 1,000 boards.
    this.#outbox.push(line);
    if (!this.#writeScheduled) {
      this.#writeScheduled = true;
      setImmediate(this.#writeOut);
    }
  }

  readonly #writeOut = (): void => {
    this.#writeScheduled = false;
    if (this.#outbox.length === 0) return;
    const lines = this.#outbox;
    this.#outbox = [];
    this.#child?.stdin.write(`${lines.join('\n')}\n`);
  };

  /** Lets rrdtool finish what was written, then waits for it to exit. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#writeOut();
    this.#child?.stdin.end();
    await this.#exited;
  }

  #start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.#binary, ['-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => this.#onOutput(text));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => this.#logger.warn({ stderr: text.trim() }, 'rrdtool wrote to stderr'));
    // EPIPE on a dying process surfaces here; 'exit' does the bookkeeping.
    child.stdin.on('error', (err) => this.#logger.debug({ err }, 'rrdtool stdin error'));
    this.#exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.#logger.error({ err }, 'cannot run rrdtool (is the rrdtool package installed?)');
        this.#onExit(child, `cannot start ${this.#binary}: ${err.message}`);
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (!this.#closed) this.#logger.error({ code, signal }, 'rrdtool exited; it will be restarted');
        this.#onExit(child, `rrdtool exited (code ${code}, signal ${signal})`);
        resolve();
      });
    });
    return child;
  }

  #onExit(child: ChildProcessWithoutNullStreams, reason: string): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#outbox = []; // their commands fail with the pending ones below
    if (!this.#closed) this.#failure = reason;
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.done(new RrdError('E_RRD_DIED', reason), NO_LINES);
  }

  #onOutput(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const head = this.#pending[0];
      if (head === undefined) {
        this.#logger.warn({ line }, 'unexpected rrdtool output');
        continue;
      }
      const reply = classifyReplyLine(line);
      if (reply.kind === 'data') {
        head.lines ??= [];
        if (head.lines.length < MAX_REPLY_LINES) head.lines.push(reply.text);
        continue;
      }
      this.#pending.shift();
      this.#failure = undefined;
      if (reply.kind === 'ok') head.done(undefined, head.lines ?? []);
      else head.done(new RrdError('E_RRD_COMMAND', reply.message), NO_LINES);
    }
  }
}
