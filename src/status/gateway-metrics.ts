import { hostname } from 'node:os';
import type { MetricPoint } from '../delivery/metric-point.ts';
import type { Stats } from '../stats.ts';

/** Once a minute unless configured, as carbon-c-relay reports itself. */
export const DEFAULT_GATEWAY_METRICS_SECONDS = 60;

/**
 * The gateway's own counters as points for Graphite: `<prefix>.gateway.<host>.<counter>`
 * (`rrduino.gateway.pi4.updates.stored`), the host's dots made underscores so that it stays
 * one path component. Pure.
 */
export function gatewayMetricPoints(snapshot: Readonly<Record<string, number>>, timeMs: number, host = hostname()): MetricPoint[] {
  const clientId = `gateway.${host.replace(/\./g, '_')}`;
  return Object.entries(snapshot).map(([source, value]) => ({ clientId, source, value, timeMs }));
}

/** Sends the counters every `seconds` through `publish`; returns the stop. */
export function reportGatewayMetrics(stats: Stats, seconds: number, publish: (points: MetricPoint[]) => void, now: () => number = Date.now): () => void {
  const timer = setInterval(() => publish(gatewayMetricPoints(stats.snapshot(), now())), seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
