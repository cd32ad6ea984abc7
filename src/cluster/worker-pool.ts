import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError, errorCode, errorMessage } from '../errors.ts';
import type { ActiveSession } from '../backend/backend.ts';
import type { LocalBackend } from '../backend/local-backend.ts';
import { OP, WORKER_CONFIG_ENV, type FailedRequest, type PrimaryMessage, type WorkerConfig, type WorkerMessage, type WorkerOp } from './cluster-messages.ts';
import { VerifiedReading } from '../reading.ts';

interface WorkerState {
  readonly names: Map<number, string>;
  /** Verified sessions, by the worker's number for them. */
  readonly holders: Map<number, { clientId: string; holder: ActiveSession }>;
  replies: { ok: number[]; failed: FailedRequest[] } | undefined;
}

/** How long a stopping worker may take to finish its sessions' work before it is killed. */
const STOP_GRACE_MS = 15_000;
/** Wait before a worker that died is replaced (a crash loop must not spin). */
const RESTART_DELAY_MS = 1_000;

/**
 * The primary's side of `serve --workers N`: forks N session workers that share the boards'
 * TCP port (each accepts from it; NODE_CLUSTER_SCHED_POLICY=rr makes the primary deal them out), and carries out
 * what their handlers ask of the backend that owns the rrd files, board table and
 * destinations. A worker that dies is replaced; its boards reconnect to the others.
 */
export class WorkerPool {
  readonly #backend: LocalBackend;
  /** The module each worker runs (src/cli/session-worker.ts, compiled). */
  readonly #entry: string;
  readonly #config: WorkerConfig;
  readonly #size: number;
  readonly #logger: Logger;
  /** Each running worker: the names its ops use (paths, client ids), its verified sessions, and answers not yet sent. */
  readonly #workers = new Map<Worker, WorkerState>();
  #repliesScheduled = false;
  #stopping = false;

  constructor(backend: LocalBackend, entry: string, config: WorkerConfig, size: number, logger: Logger) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new ConfigError('E_CONFIG_INVALID', `workers must be 0..64, got ${size}`);
    this.#backend = backend;
    this.#entry = entry;
    this.#config = config;
    this.#size = size;
    this.#logger = logger;
  }

  /** Pids of the workers (the bench adds up their CPU). */
  get pids(): number[] {
    return [...this.#workers.keys()].map((w) => w.process.pid).filter((p): p is number => p !== undefined);
  }

  /** Forks the workers; resolves with the boards' address once every one listens. */
  async start(): Promise<{ host: string; port: number }> {
    // Each worker accepts from the shared socket itself, as it has time (an idle one is woken first),
    // rather than the primary accepting and handing every socket over: 5,000 boards reconnecting at
    // once were all served in 2.2 s instead of 3.0 s, with 1,000 boards spread 459/583 (round robin: 501/539).
    if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: this.#entry });
    // Every worker asks for the configured port, 0 included: node:cluster gives them all the one socket it opened for the first.
    const address = await this.#fork(this.#config);
    await Promise.all(Array.from({ length: this.#size - 1 }, () => this.#fork(this.#config)));
    return address;
  }

  /** Each worker stops accepting, finishes what its boards sent, and exits. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      [...this.#workers.keys()].map(
        (w) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => {
              this.#logger.warn({ worker: w.id }, `session worker did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
              w.process.kill('SIGKILL');
            }, STOP_GRACE_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            this.#tell(w, { kind: 'stop' });
          }),
      ),
    );
  }

  #fork(config: WorkerConfig): Promise<{ host: string; port: number }> {
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify({ ...config, floorMs: this.#backend.now() } satisfies WorkerConfig) });
    this.#workers.set(worker, { names: new Map(), holders: new Map(), replies: undefined });
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'ops') this.#run(worker, m.ops);
        else if (m.kind === 'listening') {
          started = true;
          resolve({ host: m.host, port: m.port });
        } else if (m.kind === 'failed') {
          const message = `session worker could not start: ${m.message}`;
          if (!started) reject(m.usage ? new ConfigError('E_CONFIG_INVALID', message) : new Error(message));
          else this.#logger.error({ worker: worker.id, code: m.code }, m.message);
        }
      });
      worker.on('error', (err) => this.#logger.error({ worker: worker.id, err: errorMessage(err) }, 'session worker IPC error'));
      worker.on('exit', (code, signal) => {
        const state = this.#workers.get(worker);
        this.#workers.delete(worker);
        // Its boards are no longer connected.
        for (const [, { clientId, holder }] of state?.holders ?? []) this.#backend.release(clientId, holder, 'session worker exited');
        if (!started) {
          reject(new Error(`session worker exited before it listened (code ${code}, signal ${signal})`));
          return;
        }
        if (this.#stopping) return;
        this.#logger.error({ worker: worker.id, code, signal }, 'session worker exited; its boards will reconnect to the others; starting a new one');
        setTimeout(() => {
          if (this.#stopping) return;
          this.#fork(config).catch((err: unknown) => this.#logger.error({ code: errorCode(err) }, errorMessage(err)));
        }, RESTART_DELAY_MS).unref();
      });
    });
  }

  /** A worker's operations, in the order its sessions made them. */
  #run(worker: Worker, ops: readonly WorkerOp[]): void {
    const b = this.#backend;
    const state = this.#workers.get(worker);
    if (state === undefined) return;
    const { names, holders } = state;
    const name = (id: number): string => names.get(id) ?? `?${id}`;
    for (const op of ops) {
      switch (op[0]) {
        case OP.name:
          names.set(op[1], op[2]);
          break;
        case OP.ensure:
          this.#answer(worker, op[1], b.rrd.ensure(name(op[2]), op[3]));
          break;
        case OP.update:
          this.#answer(worker, op[1], b.rrd.update(name(op[2]), op[3], op[4]));
          break;
        case OP.publish: {
          const values = new Map<string, number | null>();
          for (let i = 3; i + 1 < op.length; i += 2) values.set(String(op[i]), op[i + 1] as number | null);
          b.record(new VerifiedReading(name(op[1]), op[2], values));
          break;
        }
        case OP.count:
          if (op[3] !== undefined) b.count(op[1], name(op[3]));
          else b.stats.count(op[1], op[2]);
          break;
        case OP.claim: {
          const session = op[2];
          const holder: ActiveSession = {
            link: { transport: op[3], remote: op[4] },
            supersede: () => this.#tell(worker, { kind: 'supersede', session }),
          };
          holders.set(session, { clientId: name(op[1]), holder });
          b.claim(name(op[1]), holder);
          break;
        }
        case OP.release: {
          const held = holders.get(op[2]);
          holders.delete(op[2]);
          if (held) b.release(held.clientId, held.holder, op[3]);
          break;
        }
      }
    }
  }

  #answer(worker: Worker, id: number, done: Promise<void>): void {
    done.then(
      () => this.#repliesOf(worker)?.ok.push(id),
      (err: unknown) => this.#repliesOf(worker)?.failed.push([id, errorCode(err), errorMessage(err)]),
    );
  }

  /** Where answers to `worker` gather until the end of this event-loop turn. */
  #repliesOf(worker: Worker): { ok: number[]; failed: FailedRequest[] } | undefined {
    const state = this.#workers.get(worker);
    if (state === undefined) return undefined;
    if (!this.#repliesScheduled) {
      this.#repliesScheduled = true;
      setImmediate(() => {
        this.#repliesScheduled = false;
        for (const [w, st] of this.#workers) {
          if (st.replies === undefined) continue;
          this.#tell(w, { kind: 'replies', ...st.replies });
          st.replies = undefined;
        }
      });
    }
    return (state.replies ??= { ok: [], failed: [] });
  }

  #tell(worker: Worker, message: PrimaryMessage): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch (err) {
      this.#logger.debug({ worker: worker.id, err: errorMessage(err) }, 'cannot reach a session worker');
    }
  }
}
