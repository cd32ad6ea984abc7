import type { Reading } from '../reading.ts';
import type { RrdStore } from '../rrd/rrd-store.ts';

/** A verified session as the board table sees it: where the board is, and how to end it for a newer one. */
export interface ActiveSession {
  readonly link: { readonly transport: string; readonly remote: string };
  /** Ends this session because a newer one of the same board verified. */
  supersede(): void;
}

/**
 * Where sessions and handlers report: the rrd files, what happens to a reading once it is
 * stored, the counters and which session holds each board. The gateway hosts sessions and
 * talks to one of these whatever the deployment, as aedes' broker talks to its persistence:
 * {@link LocalBackend} (local-backend.ts) owns the rrd files, the board table and the
 * destinations; in a session worker the primary's channel (src/cluster/primary-channel.ts)
 * carries the same calls to the process that does.
 */
export interface Backend {
  /** The boards' rrd files. */
  readonly rrd: RrdStore;
  /** A verified reading, after its rrd write (stored or not): into the board table, then to every destination. */
  record(reading: Reading): void;
  /** The stamp for a reading accepted now (ms since the epoch): never below one given before (src/clock/). */
  now(): number;
  /** Bumps a counter; `clientId` names the board when the counter is one of its errors. */
  count(stat: string, clientId?: string): void;
  /** A session's first verified message; the backend ends any other session of the board. */
  claim(clientId: string, session: ActiveSession): void;
  release(clientId: string, session: ActiveSession, reason: string): void;
}
