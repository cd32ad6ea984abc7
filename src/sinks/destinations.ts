import { join } from 'node:path';
import type { Logger } from 'pino';
import { ajv, describeSchemaError } from '../validation.ts';
import { ConfigError } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { DeliveryQueue, type BatchSender } from './delivery-queue.ts';
import { DalmatinerSender } from './dalmatiner/dalmatiner-sender.ts';
import { GraphiteSender } from './graphite/graphite-sender.ts';
import { GottwallSender, type GottwallAction } from './gottwall/gottwall-sender.ts';
import { sanitize } from './graphite/metric-name.ts';
import { Pipeline } from './pipeline.ts';
import { parseAddress } from './stream-connection.ts';

const delivery = {
  name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
  queueSize: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  overflow: { enum: ['spool', 'drop'] },
  retryMinMs: { type: 'integer', minimum: 10, maximum: 600_000 },
  retryMaxMs: { type: 'integer', minimum: 10, maximum: 3_600_000 },
} as const;

/** JSON Schema of one entry of the config's `destinations`. */
export const destinationSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['type', 'address'],
      additionalProperties: false,
      properties: {
        type: { const: 'graphite' },
        address: { type: 'string' },
        protocol: { enum: ['plaintext', 'pickle'] },
        prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]*$', maxLength: 200 },
        apiKey: { type: 'string', minLength: 1, maxLength: 200 },
        caFile: { type: 'string', minLength: 1 },
        ...delivery,
      },
    },
    {
      type: 'object',
      required: ['type', 'address', 'bucket'],
      additionalProperties: false,
      properties: {
        type: { const: 'dalmatinerdb' },
        address: { type: 'string' },
        dialect: { enum: ['doc', 'release'] },
        bucket: { type: 'string', minLength: 1, maxLength: 255 },
        maxDelay: { type: 'integer', minimum: 1, maximum: 255 },
        scale: { type: 'number', exclusiveMinimum: 0 },
        floats: { type: 'boolean' },
        prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]*$', maxLength: 200 },
        ...delivery,
      },
    },
    {
      type: 'object',
      required: ['type', 'url', 'project', 'publicKey', 'privateKey'],
      additionalProperties: false,
      properties: {
        type: { const: 'gottwall' },
        url: { type: 'string', pattern: '^https?://[^/\\s]+$' },
        prefix: { type: 'string', pattern: '^[A-Za-z0-9_./-]*$' },
        project: { type: 'string', minLength: 1, maxLength: 200 },
        publicKey: { type: 'string', minLength: 1 },
        privateKey: { type: 'string', minLength: 1 },
        auth: { enum: ['signature', 'basic'] },
        base: { type: 'integer', minimum: 1 },
        actions: { type: 'object', additionalProperties: { enum: ['incr', 'decr', 'avg', 'gauge'] } },
        defaultAction: { enum: ['incr', 'decr', 'avg', 'gauge'] },
        caFile: { type: 'string', minLength: 1 },
        ...delivery,
      },
    },
  ],
} as const;

export interface GraphiteDestinationConfig {
  type: 'graphite';
  address: string;
  protocol?: 'plaintext' | 'pickle';
  prefix?: string;
  apiKey?: string;
  caFile?: string;
  name?: string;
  queueSize?: number;
  overflow?: 'spool' | 'drop';
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface DeliveryConfig {
  name?: string;
  queueSize?: number;
  overflow?: 'spool' | 'drop';
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface DalmatinerDestinationConfig extends DeliveryConfig {
  type: 'dalmatinerdb';
  address: string;
  dialect?: 'doc' | 'release';
  bucket: string;
  maxDelay?: number;
  scale?: number;
  floats?: boolean;
  prefix?: string;
}

export interface GottwallDestinationConfig extends DeliveryConfig {
  type: 'gottwall';
  url: string;
  prefix?: string;
  project: string;
  publicKey: string;
  privateKey: string;
  auth?: 'signature' | 'basic';
  base?: number;
  actions?: Record<string, GottwallAction>;
  defaultAction?: GottwallAction;
  caFile?: string;
}

export type DestinationConfig = GraphiteDestinationConfig | DalmatinerDestinationConfig | GottwallDestinationConfig;

const validateOne = ajv.compile(destinationSchema);

/** Checks the `destinations` list; throws ConfigError naming the entry and field. */
export function validateDestinations(list: unknown[], file = 'config'): DestinationConfig[] {
  const names = new Set<string>();
  return list.map((entry, i) => {
    if (!validateOne(entry)) {
      const { field, detail } = describeSchemaError(validateOne.errors, { under: `/destinations/${i}` });
      throw new ConfigError('E_CONFIG_INVALID', `${file}: ${field} ${detail}`);
    }
    const d = entry as DestinationConfig;
    if (d.type !== 'gottwall') parseAddressIn(d.address, `${file}: /destinations/${i}/address`);
    const name = destinationName(d);
    if (names.has(name)) throw new ConfigError('E_CONFIG_INVALID', `${file}: /destinations/${i} name '${name}' is used twice; give each a "name"`);
    names.add(name);
    return d;
  });
}

export function destinationName(d: DestinationConfig): string {
  if (d.name) return d.name;
  if (d.type === 'gottwall') {
    const u = new URL(d.url);
    return sanitize(`gottwall-${u.hostname}-${u.port || (u.protocol === 'https:' ? 443 : 80)}-${d.project}`);
  }
  const a = parseAddress(d.address);
  return sanitize(`${d.type}-${a.tls ? 'tls-' : ''}${a.host}-${a.port}`);
}

/** Builds the pipeline of destinations; spools live under `<dataDir>/spool/<name>`. */
export function buildPipeline(configs: readonly DestinationConfig[], deps: { dataDir: string; logger: Logger; stats: Stats }): Pipeline {
  return new Pipeline(
    configs.map((d) => {
      const name = destinationName(d);
      return new DeliveryQueue(makeSender(d, name, deps), {
        name,
        maxQueue: d.queueSize,
        overflow: d.overflow,
        spoolDir: join(deps.dataDir, 'spool', name),
        backoff: { minMs: d.retryMinMs ?? 500, maxMs: d.retryMaxMs ?? 30_000 },
        logger: deps.logger,
        stats: deps.stats,
      });
    }),
  );
}

function makeSender(d: DestinationConfig, name: string, deps: { logger: Logger; stats: Stats }): BatchSender {
  if (d.type === 'dalmatinerdb') {
    return new DalmatinerSender({
      name,
      address: parseAddress(d.address),
      dialect: d.dialect ?? 'doc',
      bucket: d.bucket,
      maxDelay: d.maxDelay ?? 5,
      scale: d.scale ?? 100,
      floats: d.floats ?? false,
      prefix: d.prefix ? d.prefix.split('.').filter(Boolean) : [],
      logger: deps.logger,
      stats: deps.stats,
    });
  }
  if (d.type === 'gottwall') {
    return new GottwallSender({
      url: d.url,
      prefix: d.prefix ?? '',
      project: d.project,
      publicKey: d.publicKey,
      privateKey: d.privateKey,
      auth: d.auth ?? 'signature',
      base: d.base ?? 1000,
      actions: d.actions ?? {},
      defaultAction: d.defaultAction ?? 'gauge',
      caFile: d.caFile,
    });
  }
  return new GraphiteSender({
    address: parseAddress(d.address),
    protocol: d.protocol ?? 'pickle',
    prefix: d.prefix ?? 'rrduino',
    apiKey: d.apiKey,
    caFile: d.caFile,
  });
}

function parseAddressIn(text: string, where: string): void {
  try {
    parseAddress(text);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${where}: ${(err as Error).message}`);
  }
}
