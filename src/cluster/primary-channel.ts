import type { GatewayClock } from '../clock/gateway-clock.ts';
import { RrdError } from '../errors.ts';
import type { ActiveSession, Backend } from '../backend/backend.ts';
import type { Reading } from '../reading.ts';
import { ensureOnce, type RrdStore } from '../rrd/rrd-store.ts';
import { OP, type FailedRequest, type WorkerMessage, type WorkerOp } from './cluster-messages.ts';

interface Waiting {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A session worker's side of the link to the primary: the {@link Backend} its gateway
 * reports to. Operations queue in order and go in one IPC message per event-loop turn;
 * plain counters are summed per turn; file paths and client ids are sent once and then
 * named by number. Requests (rrd) resolve when the primary answers.
 */
export class PrimaryChannel implements Backend {
  readonly rrd: RrdStore;
  readonly #send: (message: WorkerMessage) => void;
  #ops: WorkerOp[] = [];
  readonly #counts = new Map<string, number>();
  #scheduled = false;
  #nextRequest = 1;
  readonly #waiting = new Map<number, Waiting>();
  readonly #names = new Map<string, number>();
  /** Files the primary has answered `ensure` for (or is asked about): one request per file. */
  readonly #ensured = new Map<string, Promise<void>>();
  readonly #sessionIds = new WeakMap<ActiveSession, number>();
  readonly #sessions = new Map<number, ActiveSession>();
  #nextSession = 1;
  #failed: string | undefined;

  readonly #clock: Pick<GatewayClock, 'now'>;

  /** `clock`: this worker's stamps, started from the primary's (WorkerConfig.floorMs). */
  constructor(send: (message: WorkerMessage) => void, clock: Pick<GatewayClock, 'now'> = { now: Date.now }) {
    this.#send = send;
    this.#clock = clock;
    this.rrd = {
      ensure: (path, create) => ensureOnce(this.#ensured, path, () => this.#request((id) => [OP.ensure, id, this.#name(path), [...create]])),
      update: (path, value, timeMs = this.#clock.now()) => this.#request((id) => [OP.update, id, this.#name(path), value, timeMs]),
    };
  }

  /** Requests not yet answered. */
  get waiting(): number {
    return this.#waiting.size;
  }

  now(): number {
    return this.#clock.now();
  }

  record(reading: Reading): void {
    const op: Array<string | number | null> = [OP.publish, this.#name(reading.clientId), reading.timeMs];
    for (const [key, value] of reading.values) op.push(key, value);
    this.#push(op as unknown as WorkerOp); // the shape WorkerOp's publish names; TypeScript cannot follow a tuple built in a loop
  }

  count(stat: string, clientId?: string): void {
    if (clientId !== undefined && stat.startsWith('errors.')) this.#push([OP.count, stat, 1, this.#name(clientId)]);
    else {
      this.#counts.set(stat, (this.#counts.get(stat) ?? 0) + 1);
      this.#schedule();
    }
  }

  claim(clientId: string, session: ActiveSession): void {
    const id = this.#nextSession++;
    this.#sessionIds.set(session, id);
    this.#sessions.set(id, session);
    this.#push([OP.claim, this.#name(clientId), id, session.link.transport, session.link.remote]);
  }

  release(clientId: string, session: ActiveSession, reason: string): void {
    const id = this.#sessionIds.get(session);
    if (id === undefined || !this.#sessions.delete(id)) return;
    this.#push([OP.release, this.#name(clientId), id, reason]);
  }

  /** The primary's answers to requests. */
  onReplies(ok: readonly number[], failed: readonly FailedRequest[]): void {
    for (const id of ok) {
      const w = this.#waiting.get(id);
      if (w === undefined) continue;
      this.#waiting.delete(id);
      w.resolve();
    }
    for (const [id, code, message] of failed) {
      const w = this.#waiting.get(id);
      if (w === undefined) continue;
      this.#waiting.delete(id);
      w.reject(new RrdError(code, message));
    }
  }

  /** The primary says a newer session of this board verified. */
  supersede(session: number): void {
    this.#sessions.get(session)?.supersede();
  }

  /** Sends what is queued now (before a worker stops). */
  flush(): void {
    this.#scheduled = false;
    const ops = this.#ops;
    this.#ops = [];
    for (const [stat, by] of this.#counts) ops.push([OP.count, stat, by]);
    this.#counts.clear();
    if (ops.length === 0 || this.#failed !== undefined) return;
    try {
      this.#send({ kind: 'ops', ops });
    } catch (err) {
      this.fail(`cannot reach the primary process: ${String(err)}`);
    }
  }

  /** The primary is gone: every request fails, and later ones at once. */
  fail(reason: string): void {
    this.#failed = reason;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(new RrdError('E_RRD_DIED', reason));
  }

  /** The number standing for `text` in ops; the first use sends it. */
  #name(text: string): number {
    let id = this.#names.get(text);
    if (id === undefined) {
      id = this.#names.size + 1;
      this.#names.set(text, id);
      this.#ops.push([OP.name, id, text]);
    }
    return id;
  }

  #request(op: (id: number) => WorkerOp): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(new RrdError('E_RRD_DIED', this.#failed));
    const id = this.#nextRequest++;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#push(op(id));
    });
  }

  #push(op: WorkerOp): void {
    this.#ops.push(op);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }
}
