import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ProtocolError, errorCode, errorMessage } from './errors.ts';
import type { BaseHandler, HandleResult, HandlerContext } from './handlers/base-handler.ts';
import { KeyRatchet } from './protocol/key-ratchet.ts';
import { deriveMasterKey, HmacKey, KEY_MATERIAL_BYTES } from './protocol/key-schedule.ts';
import { clip, decodeLine, helloClientId, isBlankLine, isUsableClientId, parseLine, parseSigned, type RawMessage } from './protocol/message.ts';
import type { Profile } from './profiles/profile-store.ts';
import type { Frame, LinkConsumer, SessionLink } from './link.ts';

/** Time and work limits of every session, whatever its link (the link's own are in its policy). */
export interface SessionLimits {
  /** Hello → first verified message; a real board needs ~6 s (docs/protocol.md, "Time limits"). Default 30 s, at least 15 s. */
  handshakeTimeoutMs: number;
  /** Between verified messages. Default 2 h: boards that report every 15 or 60 minutes keep their session. */
  idleTimeoutMs: number;
  /** Messages whose storage is still running before the link is paused. Default 64. */
  maxInFlight: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  handshakeTimeoutMs: 30_000,
  idleTimeoutMs: 7_200_000,
  maxInFlight: 64,
};

/** Connect → hello on TCP, unless configured. */
export const DEFAULT_HELLO_TIMEOUT_MS = 30_000;

/** What sessions share: profiles, handler construction, counters, the active-board table. */
export interface SessionHub {
  readonly logger: Logger;
  lookupProfile(clientId: string): Promise<Profile | undefined>;
  /** `session.logger` is made when read: the handler's context reads it when it logs. */
  makeContext(profile: Profile, session: { readonly logger: Logger }): HandlerContext;
  /** Bumps a counter; `clientId` names the board when the error is one of a board with a profile. */
  count(stat: string, clientId?: string): void;
  /** Called on a session's first verified message; the hub ends an older session of the same board. */
  claim(clientId: string, session: BoardSession): void;
  release(clientId: string, session: BoardSession, reason: string): void;
  sessionClosed(session: BoardSession): void;
  random(bytes: number): Buffer;
  /** Whether a line about an unauthenticated peer may be logged (rate limit per address and code). */
  mayLog(remote: string, code: string): boolean;
}

type ActiveState = { kind: 'active'; clientId: string; handler: BaseHandler; verified: boolean };
/** An id without a usable profile: `decoy` does a known board's key work, so timing cannot tell the two apart. */
type UnknownState = { kind: 'unknown-client'; clientId: string; decoy: KeyRatchet };
type State = { kind: 'idle' } | UnknownState | ActiveState;

/**
 * One board's conversation over one link, from frames in to handler calls out.
 * Knows nothing about sockets or ports, only the link's policy; never lets an error escape.
 */
export class BoardSession implements LinkConsumer {
  readonly link: SessionLink;
  readonly #hub: SessionHub;
  readonly #limits: SessionLimits;
  /** The client id logged with this session's lines, once its hello's lookup is done. */
  #logId: string | undefined;
  #state: State = { kind: 'idle' };
  /**
   * On a link that cannot hang up (serial), the verified session a hello found: serial noise can
   * parse as a hello, so it goes on until the new session verifies a message (a board that really
   * reset), and comes back if one of its own lines verifies first, or the new one times out.
   */
  #standby: ActiveState | undefined;
  #timer: NodeJS.Timeout | undefined;
  /**
   * Frames read while the session could not take them: a hello's profile lookup was running,
   * or `maxInFlight` messages were being stored. The link is paused then, so this holds at
   * most what one read brought; `#heldAt` is the next one to take.
   */
  #held: Frame[] = [];
  #heldAt = 0;
  /** The running hello's profile lookup, while it runs. */
  #hello: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  #paused = false;
  /** The gateway is stopping: nothing more is read from the link; what was read is finished. */
  #stopping = false;
  #closed = false;
  /** Whether this link has carried a verified message (then a hello may extend its time). */
  #verifiedOnce = false;
  /** What the running timer is waiting for. */
  #deadline: 'hello' | 'handshake' | 'idle' | undefined;
  /**
   * Resolved when the next tracked message settles; made only while something waits for it
   * (a closing link, a drain), not per message.
   */
  #settled: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(link: SessionLink, hub: SessionHub, limits: SessionLimits) {
    this.link = link;
    this.#hub = hub;
    this.#limits = limits;
    const helloMs = link.policy.helloTimeoutMs;
    if (helloMs !== undefined) this.#arm('hello', helloMs, 'E_HANDSHAKE_TIMEOUT', 'no hello');
  }

  /**
   * This session's logger, made for each line rather than kept: a child logger and its bindings
   * are ~0.6 KB, which every connected board would hold while it is seldom used.
   */
  get logger(): Logger {
    const { transport, remote } = this.link;
    return this.#hub.logger.child(this.#logId === undefined ? { transport, remote } : { transport, remote, clientId: this.#logId });
  }

  get #debugging(): boolean {
    return this.#hub.logger.isLevelEnabled('debug');
  }

  get clientId(): string | undefined {
    return this.#state.kind === 'idle' ? undefined : this.#state.clientId;
  }

  /** The client id when it has a profile (an unknown id is anyone's to send, and not counted per board). */
  get #knownClientId(): string | undefined {
    return this.#state.kind === 'active' ? this.#state.clientId : undefined;
  }

  /** Feeds one frame from the link's line parser. */
  onFrame(frame: Frame): void {
    if (this.#closed) return;
    if (this.#heldAt < this.#held.length || this.#busy) {
      // Bounded: the link is paused meanwhile; only what was already read lands here.
      if (this.#held.length - this.#heldAt < MAX_HELD_FRAMES) this.#held.push(frame);
      else this.#hub.count('frames.dropped');
      return;
    }
    this.#take(frame);
  }

  /**
   * Whether frames must wait: a hello is being looked up, or enough messages are being stored.
   * Holding them (not only pausing the link) keeps what one read brought from piling up in memory
   * as unfinished writes: a 64 KiB read is ~900 updates.
   */
  get #busy(): boolean {
    return this.#hello !== undefined || this.#inFlight >= this.#limits.maxInFlight;
  }

  /** Takes held frames while the session can. */
  #takeHeld(): void {
    while (this.#heldAt < this.#held.length && !this.#busy && !this.#closed) {
      const frame = this.#held[this.#heldAt] as Frame;
      this.#heldAt++;
      this.#take(frame);
    }
    if (this.#heldAt >= this.#held.length) {
      this.#held = [];
      this.#heldAt = 0;
    }
    this.#updateFlow();
  }

  #take(frame: Frame): void {
    try {
      this.#process(frame);
    } catch (err) {
      // Thrown before any key verified this line (a verified message's errors come back in its result).
      this.#reject(err, { unverifiedLine: true });
    }
  }

  /** The link is gone (socket closed, port unplugged). Waits for running storage work. */
  onLinkClosed(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // What the board sent before the link went is still its own: held frames are taken first.
    while (!this.#closed && this.#heldAt < this.#held.length) {
      if (this.#hello !== undefined) await this.#hello;
      else if (this.#inFlight > 0) await this.#nextSettle();
      else this.#takeHeld();
    }
    this.#closed = true;
    this.#endSession('link closed');
    clearTimeout(this.#timer);
    await this.drain();
    this.#hub.sessionClosed(this);
  }

  /** Resolves when every message accepted so far has been stored and handed on. */
  async drain(): Promise<void> {
    while (this.#inFlight > 0) await this.#nextSettle();
  }

  /** Stops reading from the link for good (a stop): what was already read is still taken. */
  stopReading(): void {
    this.#stopping = true;
    this.#updateFlow();
  }

  #nextSettle(): Promise<void> {
    if (this.#settled === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#settled = { promise, resolve };
    }
    return this.#settled.promise;
  }

  /** Ends this session because a newer one of the same board verified (TCP: hangs up). */
  supersede(): void {
    this.logger.info('a newer session of this board verified; ending this one');
    this.#hub.count('sessions.superseded');
    this.#endSession('superseded');
    if (this.link.policy.canHangUp) this.#hangUp();
  }

  #process(frame: Frame): void {
    if (frame.kind === 'truncated') {
      this.#hub.count('lines.truncated');
      if (this.#debugging) this.logger.debug({ bytes: frame.length }, 'link ended inside a line');
      return;
    }
    if (frame.kind === 'overflow') throw new ProtocolError('E_LINE_TOO_LONG', 'line longer than the limit');
    if (isBlankLine(frame.bytes)) {
      // Skipped on every link, before and between messages: it changes no state and no timer.
      this.#hub.count('lines.empty');
      return;
    }
    const helloId = helloClientId(frame.bytes);
    if (helloId !== undefined) {
      this.#startHello(helloId);
      return;
    }
    const raw = parseLine(decodeLine(frame.bytes));
    const result = this.#standby === undefined ? this.#handle(this.#state, raw) : this.#handleBesideStandby(this.#standby, raw);
    if (result.verified) {
      const state = this.#state as ActiveState; // a line that verified has an active session
      this.#hub.count('messages.verified');
      if (!state.verified) {
        state.verified = true;
        this.#hub.claim(state.clientId, this);
      }
      if (!this.#verifiedOnce) {
        this.#verifiedOnce = true;
        this.link.verified?.();
      }
      this.#arm('idle', this.#limits.idleTimeoutMs, 'E_IDLE_TIMEOUT', 'no message');
    }
    if (result.error !== undefined) {
      if (result.verified) this.#authenticFailed(result.error);
      else this.#reject(result.error, { unverifiedLine: true });
    }
    if (result.done) this.#track(result.done);
  }

  #handle(state: State, raw: RawMessage): HandleResult {
    if (state.kind === 'unknown-client') {
      // The work a known board's line that does not verify costs, then the refusal.
      try {
        const signed = parseSigned(raw);
        state.decoy.verifyBytes(signed.signedText, Buffer.from(signed.hmac, 'hex'));
      } catch {
        // Refused below all the same.
      }
      throw new ProtocolError('E_UNKNOWN_CLIENT', `unknown client '${clip(state.clientId)}'`);
    }
    if (state.kind === 'idle') throw new ProtocolError('E_NO_SESSION', `'${raw.type.slice(0, 16)}' before hello`);
    return state.handler.handle(raw);
  }

  /** A line while a verified session waits behind a hello: whichever session it verifies in goes on. */
  #handleBesideStandby(standby: ActiveState, raw: RawMessage): HandleResult {
    const candidate = this.#state;
    let tried: HandleResult | undefined;
    let refused: unknown;
    try {
      tried = this.#handle(candidate, raw);
    } catch (err) {
      refused = err; // thrown only for a line that did not verify
    }
    if (tried?.verified) {
      // The board did reset: its new session goes on, the old one is over.
      this.#standby = undefined;
      this.#hub.release(standby.clientId, this, 'new hello');
      return tried;
    }
    let old: HandleResult | undefined;
    try {
      old = standby.handler.handle(raw);
    } catch {
      // Not a line of the old session either: the new session's answer stands.
    }
    if (old?.verified) {
      this.#resumeStandby(standby);
      return old;
    }
    if (tried === undefined) throw refused;
    return tried;
  }

  /** The hello that put `standby` aside was noise: it goes on as if the hello had not come. */
  #resumeStandby(standby: ActiveState): void {
    const candidate = this.#state;
    if (candidate.kind !== 'idle' && this.#debugging) this.logger.debug({ clientId: candidate.clientId }, 'the hello was noise: the verified session goes on');
    this.#standby = undefined;
    this.#state = standby;
    this.#logId = standby.clientId;
    this.#hub.count('hellos.noise');
    this.#arm('idle', this.#limits.idleTimeoutMs, 'E_IDLE_TIMEOUT', 'no message');
  }

  #startHello(clientId: string): void {
    const current = this.#state;
    if (!this.link.policy.canHangUp && current.kind === 'active' && current.verified) {
      this.#standby = current;
      this.#state = { kind: 'idle' };
    } else this.#endSession('new hello', { keepStandby: true });
    this.#hub.count('hellos');
    // Spec "Hello and client ids": the 32 bytes go out before any work that depends on
    // the id (profile read, key derivation), so a known id cannot be told by its timing.
    const material = this.#hub.random(KEY_MATERIAL_BYTES);
    this.link.write(material);
    // Until the link has carried a verified message, another hello does not buy more time
    // (docs/protocol.md, "Hello and client ids"). A link that cannot hang up (serial) is not
    // held open by anyone, so there each hello starts its own handshake.
    if (this.#verifiedOnce || this.#deadline !== 'handshake' || !this.link.policy.canHangUp) {
      this.#arm('handshake', this.#limits.handshakeTimeoutMs, 'E_HANDSHAKE_TIMEOUT', 'no signed message after hello');
    }
    if (!isUsableClientId(clientId)) {
      // Answered all the same (a board waiting for its 32 bytes must not hang); what follows is rejected.
      this.#hub.count('hellos.unusable');
      if (this.#hub.mayLog(this.link.remote, 'E_BAD_CLIENT_ID')) {
        this.logger.warn(
          { code: 'E_BAD_CLIENT_ID', clientId: clip(clientId) },
          'hello with a client id that cannot name a profile (1-64 printable characters, no space, / or \\, not starting with .); answered, rejecting what follows',
        );
      }
      this.#state = { kind: 'unknown-client', clientId, decoy: decoyRatchet(material, this.link.policy.lookaheadWindow) };
      return;
    }
    this.#hello = this.#hub
      .lookupProfile(clientId)
      .catch((err: unknown) => {
        // An invalid profile must not make the hello differ: log, treat as unknown.
        this.#hub.count('errors.E_PROFILE_INVALID');
        this.logger.error({ clientId, code: errorCode(err) }, errorMessage(err));
        return undefined;
      })
      .then((profile) => {
        if (this.#closed) return;
        this.#logId = clientId;
        if (profile === undefined) {
          this.#hub.count('hellos.unknown');
          if (this.#hub.mayLog(this.link.remote, 'E_UNKNOWN_CLIENT')) {
            this.logger.warn({ code: 'E_UNKNOWN_CLIENT' }, 'hello from unknown client id; answered as for a known one, rejecting what follows');
          }
          this.#state = { kind: 'unknown-client', clientId, decoy: decoyRatchet(material, this.link.policy.lookaheadWindow) };
        } else {
          const handler = new profile.handlerClass({
            context: this.#hub.makeContext(profile, this),
            preSharedKey: profile.key,
            options: profile.options,
          });
          handler.hello(material, this.link.policy.lookaheadWindow);
          this.#state = { kind: 'active', clientId, handler, verified: false };
          if (this.#verifiedOnce || this.#hub.mayLog(this.link.remote, 'hello')) this.logger.info('hello');
        }
      })
      .catch((err: unknown) => this.#reject(err, { unverifiedLine: false }))
      .finally(() => {
        this.#hello = undefined;
        this.#takeHeld();
      });
    this.#updateFlow(); // paused while the profile is read
  }

  #track(done: Promise<void>): void {
    this.#inFlight++;
    this.#updateFlow();
    // One reaction for both outcomes, and no collection of running work: this runs for every update.
    void done.then(
      () => this.#settle(),
      (err: unknown) => this.#fail(err),
    );
  }

  #settle(): void {
    this.#inFlight--;
    const waiting = this.#settled;
    if (waiting !== undefined) {
      this.#settled = undefined;
      waiting.resolve();
    }
    this.#takeHeld();
  }

  #fail(err: unknown): void {
    const reason = err ?? new Error('rejected without a reason');
    this.logger.error({ code: errorCode(reason) }, `message handler failed: ${errorMessage(reason)}`);
    this.#settle();
  }

  /**
   * A message that verified but that its handler could not take: logged and counted, and the
   * session goes on (docs/protocol.md, "Updates": an authentic message never ends its session).
   */
  #authenticFailed(err: unknown): void {
    const code = errorCode(err);
    this.#hub.count(`errors.${code}`, this.#knownClientId);
    if (err instanceof ProtocolError) this.logger.warn({ code }, `verified message not taken: ${errorMessage(err)}`);
    else this.logger.error({ err, code }, 'message handler failed on a verified message');
  }

  #updateFlow(): void {
    const shouldPause = this.#busy || this.#stopping;
    if (shouldPause && !this.#paused) {
      this.#paused = true;
      this.link.pause();
    } else if (!shouldPause && this.#paused) {
      this.#paused = false;
      this.link.resume();
    }
  }

  /**
   * A protocol error (or a bug). Where the policy says unverified lines are noise, such a
   * line is skipped and the session goes on; otherwise the session ends, and the link is
   * closed if it can be.
   */
  #reject(err: unknown, how: { unverifiedLine: boolean }): void {
    const code = errorCode(err);
    if (!(err instanceof ProtocolError)) this.logger.error({ err, code }, 'internal error in session');
    this.#hub.count(`errors.${code}`, this.#knownClientId);
    if (how.unverifiedLine && this.link.policy.unverifiedLinesAreNoise) {
      this.#hub.count('lines.noise');
      if (this.#debugging) this.logger.debug({ code }, `skipped a line that did not verify: ${errorMessage(err)}`);
      return;
    }
    // Anyone can cause these before a key has verified: rate-limited per address and code.
    if (this.#verifiedOnce || this.#hub.mayLog(this.link.remote, code)) this.logger.warn({ code }, `protocol error: ${errorMessage(err)}`);
    this.#endSession(code);
    if (this.link.policy.canHangUp) this.#hangUp();
  }

  #arm(deadline: 'hello' | 'handshake' | 'idle', ms: number, code: 'E_HANDSHAKE_TIMEOUT' | 'E_IDLE_TIMEOUT', what: string): void {
    if (deadline === 'idle' && this.#deadline === 'idle' && this.#timer !== undefined) {
      // Every verified message re-arms the idle limit: restart the same timer rather than make one per message.
      this.#timer.refresh();
      return;
    }
    clearTimeout(this.#timer);
    this.#deadline = deadline;
    this.#timer = setTimeout(() => {
      this.#deadline = undefined;
      if (this.#closed) return;
      if (deadline === 'handshake' && this.#standby !== undefined) {
        this.#resumeStandby(this.#standby);
        return;
      }
      this.#reject(new ProtocolError(code, `${what} within ${Math.round(ms / 1000)} s`), { unverifiedLine: false });
    }, ms);
    this.#timer.unref();
  }

  #endSession(reason: string, o: { keepStandby?: boolean } = {}): void {
    const standby = this.#standby;
    if (standby !== undefined && !o.keepStandby) {
      this.#standby = undefined;
      this.#hub.release(standby.clientId, this, reason);
    }
    const state = this.#state;
    if (state.kind === 'active' && state.verified) this.#hub.release(state.clientId, this, reason);
    if (state.kind !== 'idle' && this.#debugging) this.logger.debug({ reason }, 'session ended');
    this.#state = { kind: 'idle' };
    // A link that stays open without a session (serial) has nothing left to time out.
    if (this.#closed || !this.link.policy.canHangUp) {
      clearTimeout(this.#timer);
      this.#deadline = undefined;
    }
  }

  #hangUp(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.link.hangUp();
  }
}

/** Frames held while a session is busy, at most (a 64 KiB read of the shortest honest lines is ~900). */
const MAX_HELD_FRAMES = 4096;

/** A key no board has, derived at every use as a board's key is at every hello. */
const DECOY_KEY = randomBytes(16).toString('hex');

/** The key schedule a known board's hello runs (its handler's master key, then its ratchet), for an unknown id. */
function decoyRatchet(material: Buffer, lookaheadWindow: number): KeyRatchet {
  return new KeyRatchet(new HmacKey(deriveMasterKey(DECOY_KEY)), material, lookaheadWindow);
}

/** 32 bytes of fresh key material per hello (docs/protocol.md, "Hello"). */
export function secureRandom(bytes: number): Buffer {
  return randomBytes(bytes);
}
