import type { Logger } from 'pino';
import { BoardSession, DEFAULT_LIMITS, type SessionHub, type SessionLimits } from '../../src/board-session.ts';
import { BaseHandler, type HandlerContext, type HandlerInit } from '../../src/handlers/base-handler.ts';
import type { LinkPolicy, SessionLink } from '../../src/link.ts';
import type { Profile } from '../../src/profiles/profile-store.ts';
import { parseUpdate, type SignedMessage } from '../../src/protocol/message.ts';
import type { Reading } from '../../src/reading.ts';
import type { RrdService } from '../../src/rrd/rrd-service.ts';
import { Stats } from '../../src/stats.ts';
import { LineParser } from '../../src/transport/line-parser.ts';
import { memoryLogger } from './fixtures.ts';

/** The policies the real transports supply (tcp-listener.ts, serial-line.ts). */
export const TCP_POLICY: LinkPolicy = { canHangUp: true, helloTimeoutMs: 30_000, unverifiedLinesAreNoise: false, lookaheadWindow: 0 };
export const SERIAL_POLICY: LinkPolicy = { canHangUp: false, helloTimeoutMs: undefined, unverifiedLinesAreNoise: true, lookaheadWindow: 4 };

/**
 * One end of an in-memory link: what the test sends goes through the real line parser
 * into the session; what the session writes is kept. No sockets, no ports.
 */
export class MemoryLink implements SessionLink {
  readonly transport = 'memory';
  readonly remote: string;
  readonly policy: LinkPolicy;
  readonly written: Buffer[] = [];
  hungUp = false;
  paused = false;
  verifiedCalls = 0;
  #session: BoardSession | undefined;
  readonly #parser = new LineParser({ maxLineLength: 1024 }, (frame) => this.#session?.onFrame(frame));

  constructor(policy: LinkPolicy, remote = '192.0.2.7:4000') {
    this.policy = policy;
    this.remote = remote;
  }

  /** Bytes from the board; framed as the transports frame them. */
  send(data: string | Buffer): void {
    this.#parser.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Everything the gateway wrote to the board. */
  get received(): Buffer {
    return Buffer.concat(this.written);
  }

  attach(session: BoardSession): void {
    this.#session = session;
  }

  write(bytes: Buffer): void {
    this.written.push(Buffer.from(bytes));
  }
  hangUp(): void {
    this.hungUp = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  verified(): void {
    this.verifiedCalls++;
  }
}

/** While `held`, each `u` a RecordingHandler takes stays in flight until the test calls `release()`. */
export const storeGate = {
  held: false,
  waiting: [] as Array<() => void>,
  release(): void {
    this.held = false;
    for (const done of this.waiting.splice(0)) done();
  },
};

/** Stores nothing: keeps the readings of verified `u` updates for the test to read. */
export class RecordingHandler extends BaseHandler {
  constructor(init: HandlerInit) {
    super(init);
    this.registerMessageType('u', (m: SignedMessage) => this.#update(m), true);
    this.registerMessageType('boom', () => {
      throw new Error('a handler bug'); // a verified message its handler fails on
    }, true);
  }
  #update(m: SignedMessage): void | Promise<void> {
    const reading = { clientId: this.clientId, timeMs: this.context.now(), values: parseUpdate(m.body).values };
    this.context.publish(reading);
    if (storeGate.held) return new Promise((resolve) => storeGate.waiting.push(resolve));
  }
}

/**
 * The sessions' hub with profiles in memory and no disk, rrd or network, so protocol and
 * timeout tests run on fake timers (`vi.useFakeTimers`).
 */
export class MemoryHub implements SessionHub {
  readonly logs = memoryLogger();
  readonly logger: Logger = this.logs.logger;
  readonly stats = new Stats();
  readonly readings: Reading[] = [];
  readonly claimed: string[] = [];
  readonly #profiles = new Map<string, Profile>();
  #random = 0;

  addBoard(clientId: string, key: string): void {
    this.#profiles.set(clientId, { clientId, key, file: `${clientId}.json`, handlerName: 'RecordingHandler', handlerClass: RecordingHandler, options: {}, warnings: [] });
  }

  /** A session on a new in-memory link. */
  open(policy: LinkPolicy = TCP_POLICY, limits: SessionLimits = DEFAULT_LIMITS): { link: MemoryLink; session: BoardSession } {
    const link = new MemoryLink(policy);
    const session = new BoardSession(link, this, limits);
    link.attach(session);
    return { link, session };
  }

  lookupProfile(clientId: string): Promise<Profile | undefined> {
    return Promise.resolve(this.#profiles.get(clientId));
  }
  makeContext(profile: Profile, session: { readonly logger: Logger }): HandlerContext {
    return {
      clientId: profile.clientId,
      get logger() {
        return session.logger;
      },
      // The recording handler stores nothing; a session test never reaches rrdtool.
      rrd: undefined as unknown as RrdService,
      dataDir: '/nonexistent',
      profileFile: profile.file,
      publish: (r) => this.readings.push(r),
      count: (stat) => this.stats.count(stat),
      mayLog: () => true,
      now: () => Date.now(),
    };
  }
  count(stat: string): void {
    this.stats.count(stat);
  }
  claim(clientId: string): void {
    this.claimed.push(clientId);
  }
  readonly released: Array<[clientId: string, reason: string]> = [];
  release(clientId: string, _session: unknown, reason: string): void {
    this.released.push([clientId, reason]);
  }
  sessionClosed(): void {}
  /** Deterministic key material: 32 bytes counting up from a new start each hello. */
  random(bytes: number): Buffer {
    const start = this.#random++;
    return Buffer.from(Array.from({ length: bytes }, (_, i) => (start + i) & 0xff));
  }
  mayLog(): boolean {
    return true;
  }
}
