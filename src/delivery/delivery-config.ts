import { join } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_BACKOFF } from '../backoff.ts';
import { ConfigError } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { DEFAULT_QUEUE_SIZE, type DeliveryOptions } from './delivery-queue.ts';
import { DEFAULT_SPOOL_MAX_BYTES } from './spool.ts';

/** The fields every destination kind takes for its queue and spool (README, "Destinations"). */
export interface DeliveryConfig {
  /** Names the destination in logs and counters, and its spool directory. Default from the address. */
  name?: string;
  /** Points kept in memory while the destination keeps up. Default {@link DEFAULT_QUEUE_SIZE}. */
  queueSize?: number;
  /** `spool` (default) or `drop`. */
  overflow?: 'spool' | 'drop';
  /** The spool's cap on disk, bytes. Default {@link DEFAULT_SPOOL_MAX_BYTES}. */
  spoolMaxBytes?: number;
  /** Backoff, ms. Defaults {@link DEFAULT_BACKOFF}. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** JSON Schema properties of {@link DeliveryConfig}, spread into each kind's schema. */
export const deliverySchemaProperties = {
  // A directory name under data/spool: it must not be `.`, `..` or hidden.
  name: { type: 'string', nullable: true, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
  queueSize: { type: 'integer', nullable: true, minimum: 0, maximum: 10_000_000 },
  overflow: { type: 'string', nullable: true, enum: ['spool', 'drop'] },
  spoolMaxBytes: { type: 'integer', nullable: true, minimum: 1_048_576, maximum: 1_099_511_627_776 },
  retryMinMs: { type: 'integer', nullable: true, minimum: 10, maximum: 600_000 },
  retryMaxMs: { type: 'integer', nullable: true, minimum: 10, maximum: 3_600_000 },
} as const;

/** What the schema cannot say: the backoff's minimum is not above its maximum. Throws ConfigError. */
export function checkDelivery(d: DeliveryConfig, at: string): void {
  const max = d.retryMaxMs ?? DEFAULT_BACKOFF.maxMs;
  if (d.retryMinMs !== undefined && d.retryMinMs > max) {
    const which = d.retryMaxMs === undefined ? `the default retryMaxMs (${max}); set retryMaxMs too` : `retryMaxMs (${max})`;
    throw new ConfigError('E_CONFIG_INVALID', `${at}: retryMinMs (${d.retryMinMs}) is larger than ${which}`);
  }
}

/** The queue's options for a destination; its spool lives under `<dataDir>/spool/<name>`. */
export function deliveryOptions(d: DeliveryConfig, name: string, deps: { dataDir: string; logger: Logger; stats: Stats }): DeliveryOptions {
  return {
    name,
    maxQueue: d.queueSize ?? DEFAULT_QUEUE_SIZE,
    overflow: d.overflow ?? 'spool',
    spoolDir: join(deps.dataDir, 'spool', name),
    spoolMaxBytes: d.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES,
    backoff: { minMs: d.retryMinMs ?? DEFAULT_BACKOFF.minMs, maxMs: d.retryMaxMs ?? DEFAULT_BACKOFF.maxMs },
    logger: deps.logger,
    stats: deps.stats,
  };
}
