import type { Reading } from './reading.ts';
import type { RrdStore } from './rrd/rrd-store.ts';

/** A verified session as the board table sees it: where the board is, and how to end it for a newer one. */
export interface ActiveSession {
  readonly link: { readonly transport: string; readonly remote: string };
  /** Ends this session because a newer one of the same board verified. */
  supersede(): void;
}

/**
 * Where a gateway's sessions report when another process owns the rrd files, the board
 * table and the destinations: a session worker reports to the primary (src/cluster/).
 * Without one, the gateway does all of it itself.
 */
export interface GatewayBackend {
  readonly rrd: RrdStore;
  publish(reading: Reading): void;
  /** Bumps a counter; `clientId` names the board when the counter is one of its errors. */
  count(stat: string, clientId?: string): void;
  /** A session's first verified message; the backend ends any other session of the board. */
  claim(clientId: string, session: ActiveSession): void;
  release(clientId: string, session: ActiveSession, reason: string): void;
}
