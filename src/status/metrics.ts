import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryStatus } from '../delivery/delivery-queue.ts';
import type { Stats } from '../stats.ts';

/** What `/metrics` reads, each time it is scraped. */
export interface MetricSources {
  readonly stats: Stats;
  readonly destinations: () => readonly DeliveryStatus[];
  readonly rrdPending: () => number;
  /** How far the wall clock is behind the readings' stamps, ms (0: they follow it). */
  readonly clockBehindMs?: () => number;
  readonly now?: () => number;
}

/** Destination counters (`dest.<name>.<what>`) that count points. */
const POINT_OUTCOMES = new Set(['queued', 'sent', 'rejected', 'dropped', 'spooled', 'resent', 'restored', 'skipped']);

/**
 * The gateway's counters in the Prometheus text format: errors by code, events, points by
 * destination and outcome, drops by reason, boards connected and silent, rrd queue depth,
 * spool size and how long each destination has been down, and Node's process metrics.
 */
export function createMetrics(src: MetricSources): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'rrduino_' });
  const now = src.now ?? Date.now;
  const snapshot = (): Record<string, number> => src.stats.snapshot();

  new Counter({
    name: 'rrduino_errors_total', help: 'Errors and warnings by stable code (docs/protocol.md, "Error codes").', labelNames: ['code'], registers: [register],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(snapshot())) if (k.startsWith('errors.')) this.inc({ code: k.slice(7) }, v);
    },
  });
  new Counter({
    name: 'rrduino_events_total', help: 'Gateway events: hellos, verified messages, rrd updates stored, lines skipped as noise, ...', labelNames: ['event'], registers: [register],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(snapshot())) if (!/^(errors|dest|boards)\./.test(k)) this.inc({ event: k }, v);
    },
  });
  new Counter({
    name: 'rrduino_destination_points_total', help: 'Points per destination by outcome; queued = sent + rejected + dropped + waiting.', labelNames: ['destination', 'outcome'], registers: [register],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(snapshot())) {
        const m = /^dest\.(.+)\.([a-z_]+)$/.exec(k);
        if (m && POINT_OUTCOMES.has(m[2] as string)) this.inc({ destination: m[1], outcome: m[2] }, v);
      }
    },
  });
  new Counter({
    name: 'rrduino_destination_dropped_total', help: 'Points a destination gave up, by reason.', labelNames: ['destination', 'reason'], registers: [register],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(snapshot())) {
        const m = /^dest\.(.+)\.dropped\.([a-z_]+)$/.exec(k);
        if (m) this.inc({ destination: m[1], reason: m[2] }, v);
      }
    },
  });
  const perDestination = (name: string, help: string, read: (d: DeliveryStatus) => number): void => {
    new Gauge({
      name, help, labelNames: ['destination'], registers: [register],
      collect() {
        this.reset();
        for (const d of src.destinations()) this.set({ destination: d.name }, read(d));
      },
    });
  };
  perDestination('rrduino_destination_backlog_points', 'Points waiting for a destination, in memory and in the spool.', (d) => d.backlog);
  perDestination('rrduino_destination_spool_points', 'Points in a destination\'s spool on disk.', (d) => d.spoolPending);
  perDestination('rrduino_destination_spool_bytes', 'Bytes of a destination\'s spool on disk.', (d) => d.spoolBytes);
  perDestination('rrduino_destination_down_seconds', 'How long a destination has been unreachable (0 when it is up): the age of what waits in its spool.', (d) => (d.downSinceMs === undefined ? 0 : (now() - d.downSinceMs) / 1000));
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [register], collect() { this.set(read()); } });
  };
  gauge('rrduino_boards_connected', 'Boards with a verified session now.', () => src.stats.get('boards.connected'));
  gauge('rrduino_boards_silent', 'Boards that have not reported for more than 3 of their rrd steps.', () => src.stats.get('boards.silent'));
  gauge('rrduino_rrd_pending_updates', 'Updates waiting for rrdtool.', src.rrdPending);
  const clockBehind = src.clockBehindMs;
  if (clockBehind) gauge('rrduino_clock_behind_seconds', 'How far the wall clock is behind the readings\' stamps (0: they follow it); more than 0 after it stepped back.', () => clockBehind() / 1000);
  return register;
}
