import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import { RrdError } from '../errors.ts';
import { classifyReplyLine, formatCommand } from './rrd-command.ts';

interface Pending {
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
  lines: string[];
}

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
  async run(args: readonly string[]): Promise<string[]> {
    if (this.#closed) throw new RrdError('E_RRD_CLOSED', 'rrdtool is shut down');
    const line = formatCommand(args);
    const child = this.#child ?? this.#start();
    return new Promise<string[]>((resolve, reject) => {
      this.#pending.push({ resolve, reject, lines: [] });
      child.stdin.write(`${line}\n`);
    });
  }

  /** Lets rrdtool finish what was written, then waits for it to exit. */
  async close(): Promise<void> {
    this.#closed = true;
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
    if (!this.#closed) this.#failure = reason;
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.reject(new RrdError('E_RRD_DIED', reason));
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
        if (head.lines.length < MAX_REPLY_LINES) head.lines.push(reply.text);
        continue;
      }
      this.#pending.shift();
      this.#failure = undefined;
      if (reply.kind === 'ok') head.resolve(head.lines);
      else head.reject(new RrdError('E_RRD_COMMAND', reply.message));
    }
  }
}
