import type { Logger } from 'pino';

/** What the gateway knows of one board, for the status page, `/metrics` and the silence warning. */
export interface BoardState {
  readonly clientId: string;
  /** `tcp` or `serial` of the session now or last; undefined until one verified. */
  transport: string | undefined;
  /** Address or device of the session now or last. */
  remote: string | undefined;
  connected: boolean;
  /** Unix ms of the last verified message. */
  lastSeenMs: number | undefined;
  lastValues: ReadonlyMap<string, number | null>;
  /** Errors by code since start (protocol errors after hello, rrd errors, warnings on values); made at the first. */
  errors: Map<string, number> | undefined;
  lastError: { code: string; atMs: number } | undefined;
  /** Set while the board is silent past its limit (warned once). */
  silentSinceMs: number | undefined;
}

const NO_VALUES: ReadonlyMap<string, number | null> = new Map();

/**
 * Copies a reading's values into the board's own map, made at its first reading and updated in
 * place after: holding each reading's map until the next would keep an object per update alive
 * across garbage collections, and copying those is what makes them long (10k updates/s).
 */
function keepValues(b: BoardState, values: ReadonlyMap<string, number | null>): void {
  if (b.lastValues === NO_VALUES) {
    b.lastValues = new Map(values);
    return;
  }
  const last = b.lastValues as Map<string, number | null>;
  for (const [key, value] of values) last.set(key, value);
  if (last.size !== values.size) for (const key of last.keys()) if (!values.has(key)) last.delete(key);
}

/**
 * Every board's state, fed by the sessions and handlers. Logs a board's connects and
 * disconnects at info, and warns once when a board falls silent for longer than its limit
 * (3 × its rrd step), once more when it is heard again.
 */
export class BoardRegistry {
  readonly #boards = new Map<string, BoardState>();
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(logger: Logger, now: () => number = Date.now) {
    this.#logger = logger;
    this.#now = now;
  }

  get(clientId: string): BoardState | undefined {
    return this.#boards.get(clientId);
  }

  all(): BoardState[] {
    return [...this.#boards.values()].sort((a, b) => a.clientId.localeCompare(b.clientId));
  }

  get connectedCount(): number {
    let n = 0;
    for (const b of this.#boards.values()) if (b.connected) n++;
    return n;
  }

  connected(clientId: string, transport: string, remote: string): void {
    const b = this.#state(clientId);
    b.transport = transport;
    b.remote = remote;
    b.connected = true;
    this.#logger.info({ clientId, transport, remote }, 'board connected');
  }

  disconnected(clientId: string, reason: string): void {
    const b = this.#state(clientId);
    if (!b.connected) return;
    b.connected = false;
    this.#logger.info({ clientId, transport: b.transport, remote: b.remote, reason }, 'board disconnected');
  }

  /** A verified reading, accepted at `atMs` (the reading's own time: the clock is read once per reading). */
  seen(clientId: string, values: ReadonlyMap<string, number | null>, atMs: number): void {
    const b = this.#state(clientId);
    b.lastSeenMs = atMs;
    keepValues(b, values);
    if (b.silentSinceMs !== undefined) {
      this.#logger.info({ clientId, silentSeconds: Math.round((b.lastSeenMs - b.silentSinceMs) / 1000) }, 'board is reporting again');
      b.silentSinceMs = undefined;
    }
  }

  error(clientId: string, code: string): void {
    const b = this.#state(clientId);
    b.errors ??= new Map();
    b.errors.set(code, (b.errors.get(code) ?? 0) + 1);
    b.lastError = { code, atMs: this.#now() };
  }

  /**
   * Warns once for each board that has not reported for longer than `limitMs(clientId)`
   * (undefined: no limit known). Returns how many are silent.
   */
  checkSilence(limitMs: (clientId: string) => number | undefined): number {
    const now = this.#now();
    let silent = 0;
    for (const b of this.#boards.values()) {
      const limit = limitMs(b.clientId);
      if (b.lastSeenMs === undefined || limit === undefined) continue;
      if (now - b.lastSeenMs <= limit) continue;
      silent++;
      if (b.silentSinceMs !== undefined) continue;
      b.silentSinceMs = b.lastSeenMs;
      this.#logger.warn(
        { code: 'W_BOARD_SILENT', clientId: b.clientId, lastSeen: new Date(b.lastSeenMs).toISOString(), limitSeconds: Math.round(limit / 1000) },
        'board has not reported for 3 of its rrd steps: check its power, cable or network',
      );
    }
    return silent;
  }

  #state(clientId: string): BoardState {
    let b = this.#boards.get(clientId);
    if (b === undefined) {
      b = { clientId, transport: undefined, remote: undefined, connected: false, lastSeenMs: undefined, lastValues: NO_VALUES, errors: undefined, lastError: undefined, silentSinceMs: undefined };
      this.#boards.set(clientId, b);
    }
    return b;
  }
}
