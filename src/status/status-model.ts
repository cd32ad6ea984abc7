import type { ClockStatus } from '../clock/gateway-clock.ts';
import type { DeliveryStatus } from '../delivery/delivery-queue.ts';
import { errorMessage } from '../errors.ts';
import type { LocalBackend } from '../backend/local-backend.ts';
import { describeProfile, type Profile } from '../profiles/profile-store.ts';

/** One board as the status page shows it: its profile, and what the gateway saw of it. */
export interface BoardView {
  readonly clientId: string;
  readonly handler: string;
  readonly transport: string | undefined;
  readonly remote: string | undefined;
  readonly connected: boolean;
  readonly lastSeenMs: number | undefined;
  readonly lastValues: ReadonlyArray<readonly [string, number | null]>;
  /** Absolute rrd path, where the board's handler describes one. */
  readonly rrdFile: string | undefined;
  readonly stepSeconds: number | undefined;
  readonly errors: number;
  readonly lastError: { readonly code: string; readonly atMs: number } | undefined;
  /** Not heard for more than 3 steps. */
  readonly silent: boolean;
  /** Units by data source, as the handler describes them. */
  readonly units: Readonly<Record<string, string>>;
}

export interface DestinationView extends DeliveryStatus {
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
}

/** Everything the page, `/status.json` and `/healthz` read, taken at one instant. */
export interface StatusModel {
  readonly nowMs: number;
  readonly startedAtMs: number;
  readonly version: string;
  readonly boards: readonly BoardView[];
  /** Profiles that do not load, with why. */
  readonly invalidProfiles: readonly string[];
  /** The readings' stamps against the wall clock (src/clock/). */
  readonly clock: ClockStatus;
  readonly destinations: readonly DestinationView[];
}

/** Builds the status from the backend's profiles, board table and counters, and the destinations. */
export async function buildStatus(backend: LocalBackend, destinations: readonly DeliveryStatus[], o: { startedAtMs: number; version: string; now?: () => number }): Promise<StatusModel> {
  const nowMs = (o.now ?? Date.now)();
  const { profiles, errors } = await backend.profiles.loadAll();
  const boards = profiles.map((p) => boardView(backend, p));
  const stat = (name: string): number => backend.stats.get(name);
  return {
    nowMs,
    startedAtMs: o.startedAtMs,
    version: o.version,
    boards,
    invalidProfiles: errors.map((e) => errorMessage(e)),
    clock: backend.clock.status,
    destinations: destinations.map((d) => ({
      ...d,
      queued: stat(`dest.${d.name}.queued`),
      sent: stat(`dest.${d.name}.sent`),
      dropped: stat(`dest.${d.name}.dropped`),
    })),
  };
}

/** One board as the page shows it, from its profile and what the backend saw of it. */
export function boardView(backend: LocalBackend, p: Profile): BoardView {
  const state = backend.boards.get(p.clientId);
  const rrd = describeProfile(p, backend.dataDir).rrd;
  return {
    clientId: p.clientId,
    handler: p.handlerName,
    transport: state?.transport,
    remote: state?.remote,
    connected: state?.connected ?? false,
    lastSeenMs: state?.lastSeenMs,
    lastValues: [...(state?.lastValues ?? new Map<string, number | null>())],
    rrdFile: rrd?.file,
    stepSeconds: rrd?.stepSeconds,
    errors: [...(state?.errors?.values() ?? [])].reduce((a, b) => a + b, 0),
    lastError: state?.lastError,
    silent: state?.silentSinceMs !== undefined,
    units: rrd?.units ?? {},
  };
}
