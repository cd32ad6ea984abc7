/**
 * The contract between a transport (TCP listener, serial line, a test's in-memory pair)
 * and the board session it feeds. A transport supplies a {@link SessionLink} with its
 * {@link LinkPolicy}; the session answers as a {@link LinkConsumer}. The session knows
 * nothing else about the transport.
 */

/** What a line parser emits: a complete line, or the news that a line was too long. */
export type Frame =
  | { readonly kind: 'line'; readonly bytes: Buffer }
  /** A line passed the length limit; its bytes were dropped up to the next `\n`. */
  | { readonly kind: 'overflow' }
  /** The stream ended in the middle of a line; those bytes are not a message. */
  | { readonly kind: 'truncated'; readonly length: number };

/** How a kind of link behaves, where TCP and serial differ (docs/protocol.md, "Gateway behaviour"). */
export interface LinkPolicy {
  /**
   * Whether the gateway ends a conversation by closing the link (TCP: that is how a board
   * learns to reconnect and say hello again). A serial line cannot hang up: the session
   * ends and the line waits for the board's next hello.
   */
  readonly canHangUp: boolean;
  /** Connect → hello limit, ms; undefined where there is no connect (a serial line is always there). */
  readonly helloTimeoutMs: number | undefined;
  /**
   * Whether a line whose HMAC did not verify is skipped as noise (serial: boot garbage, a
   * half line after replugging, a corrupted or replayed line) rather than a protocol error.
   */
  readonly unverifiedLinesAreNoise: boolean;
  /** Keys to look past for lost lines (docs/protocol.md, "Lossy links"): 0 on TCP, small on serial. */
  readonly lookaheadWindow: number;
}

/** The line a session talks over. */
export interface SessionLink {
  readonly policy: LinkPolicy;
  /** For logs only: `tcp` or `serial`. Behaviour comes from {@link policy}. */
  readonly transport: string;
  /** For logs: `ip:port` or the device path. */
  readonly remote: string;
  write(bytes: Buffer): void;
  /** Closes the link; called only when the policy says it can hang up. */
  hangUp(): void;
  /** Stop/start reading while work is backed up. */
  pause(): void;
  resume(): void;
  /** Told once, at the first verified message: the link now carries a board that holds its key. */
  verified?(): void;
}

/** What a transport feeds: the session on the other side of a link. */
export interface LinkConsumer {
  onFrame(frame: Frame): void;
  /** The link is gone; resolves once work the session accepted is done. */
  onLinkClosed(): Promise<void>;
}
