/**
 * The contract between the primary process and its session workers (`serve --workers N`).
 *
 * Workers own the TCP connections: framing, sessions, HMAC verification and the handlers.
 * The primary owns everything there is one of: the rrd files (rrdtool, rrdcached), the
 * destinations, the board table, the counters, the status page and the serial ports.
 * A worker's handlers reach the primary only through these messages, sent in batches
 * (one IPC message per event-loop turn), so one board's operations arrive in order.
 */
import type { LevelWithSilent } from 'pino';
import type { ErrorCode } from '../errors.ts';
import type { LogFormat } from '../logger.ts';

/** What a worker needs to serve boards; the primary passes it in the worker's environment. */
export interface WorkerConfig {
  host: string;
  port: number;
  profilesDir: string;
  dataDir: string;
  /** Handler modules to load, as `--handlers` gave them. */
  handlerModules: string[];
  logLevel: LevelWithSilent;
  logFormat: LogFormat;
  maxLineLength: number;
  /** This worker's share of `--max-connections`. */
  maxConnections: number;
  maxUnverifiedPerAddress: number;
  helloTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /**
   * Hex of fixed key material for every hello instead of fresh random bytes: for the benchmark
   * only (its boards sign their lines before the clock starts). `serve` never sets it.
   */
  benchKeyMaterial?: string;
  /** The primary's stamp when it forked this worker: no reading of the worker is stamped below it. */
  floorMs?: number;
}

/** The environment variable that carries a worker's {@link WorkerConfig} as JSON. */
export const WORKER_CONFIG_ENV = 'RRDUINO_WORKER_CONFIG';

/** The first element of a {@link WorkerOp}. */
export const OP = { name: 0, ensure: 1, update: 2, publish: 3, count: 4, claim: 5, release: 6 } as const;

/**
 * One operation of a worker's handlers or sessions, in the order they happened. Tuples with
 * numbered names rather than objects: a batch of them is about half the serialising work
 * (measured: 0.9 vs 2.0 µs an update), and there are several an update.
 */
export type WorkerOp =
  /** Names `id` for the ops that follow (file paths, client ids): each is sent once per worker. */
  | readonly [op: typeof OP.name, id: number, text: string]
  /** rrd.ensure: create the file unless it exists; answered. */
  | readonly [op: typeof OP.ensure, request: number, file: number, create: readonly string[]]
  /** rrd.update; answered. */
  | readonly [op: typeof OP.update, request: number, file: number, value: string, timeMs: number]
  /** A verified reading for the board table and the destinations: its values as key, value, key, value… (null is U). */
  | readonly [op: typeof OP.publish, board: number, timeMs: number, ...values: Array<string | number | null>]
  /** A counter; with `board`, one of that board's errors. */
  | readonly [op: typeof OP.count, stat: string, by: number, board?: number]
  /** A session's first verified message: the board is connected through `session` of this worker. */
  | readonly [op: typeof OP.claim, board: number, session: number, transport: string, remote: string]
  | readonly [op: typeof OP.release, board: number, session: number, reason: string];

/** What a worker sends the primary. */
export type WorkerMessage =
  | { kind: 'ops'; ops: WorkerOp[] }
  /** Listening: the address the boards reach (the same for every worker). */
  | { kind: 'listening'; host: string; port: number }
  /** Could not start (a handler module, the port): the primary stops with this error; `usage` when a setting is to blame. */
  | { kind: 'failed'; code: ErrorCode; message: string; usage: boolean }
  /** Stopped after a `stop`: every accepted update was answered. */
  | { kind: 'stopped' };

/** A failed request: its number, the error's stable code and message. */
export type FailedRequest = readonly [request: number, code: ErrorCode, message: string];

/** What the primary sends a worker. */
export type PrimaryMessage =
  /** Requests answered since the last message: those that succeeded, and those that failed. */
  | { kind: 'replies'; ok: number[]; failed: FailedRequest[] }
  /** A newer session of the board verified (perhaps in another worker): end this one. */
  | { kind: 'supersede'; session: number }
  /** Stop accepting, finish the sessions' work, then say `stopped`. */
  | { kind: 'stop' };
