import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ajv, describeSchemaError } from '../validation.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import { DeliveryQueue, type BatchSender } from './delivery-queue.ts';
import { DalmatinerSender } from './dalmatiner/dalmatiner-sender.ts';
import { GraphiteSender } from './graphite/graphite-sender.ts';
import { GottwallSender, type GottwallAction } from './gottwall/gottwall-sender.ts';
import { sanitize } from './graphite/metric-name.ts';
import { Pipeline } from './pipeline.ts';
import { parseAddress } from './stream-connection.ts';

/** Default re-send window of the stream destinations (carbon, DalmatinerDB), ms. */
export const DEFAULT_RESEND_WINDOW_MS = 5_000;

const delivery = {
  // A directory name under data/spool: it must not be `.`, `..` or hidden.
  name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
  queueSize: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  overflow: { enum: ['spool', 'drop'] },
  spoolMaxBytes: { type: 'integer', minimum: 1_048_576, maximum: 1_099_511_627_776 },
  retryMinMs: { type: 'integer', minimum: 10, maximum: 600_000 },
  retryMaxMs: { type: 'integer', minimum: 10, maximum: 3_600_000 },
} as const;

const resendWindowMs = { type: 'integer', minimum: 0, maximum: 600_000 } as const;

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
        resendWindowMs,
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
        resendWindowMs,
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

interface DeliveryConfig {
  name?: string;
  queueSize?: number;
  overflow?: 'spool' | 'drop';
  spoolMaxBytes?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface GraphiteDestinationConfig extends DeliveryConfig {
  type: 'graphite';
  address: string;
  protocol?: 'plaintext' | 'pickle';
  prefix?: string;
  apiKey?: string;
  caFile?: string;
  resendWindowMs?: number;
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
  resendWindowMs?: number;
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
    const at = `${file}: /destinations/${i}`;
    if (d.type !== 'gottwall') parseAddressIn(d.address, `${at}/address`);
    if (d.type === 'dalmatinerdb' && Buffer.byteLength(d.bucket, 'utf8') > 255) {
      // The stream init gives the bucket one length byte: bytes count, not characters.
      throw new ConfigError('E_CONFIG_INVALID', `${at}/bucket is ${Buffer.byteLength(d.bucket, 'utf8')} bytes in UTF-8; DalmatinerDB takes at most 255`);
    }
    if (d.retryMinMs !== undefined && d.retryMaxMs !== undefined && d.retryMinMs > d.retryMaxMs) {
      throw new ConfigError('E_CONFIG_INVALID', `${at}: retryMinMs (${d.retryMinMs}) is larger than retryMaxMs (${d.retryMaxMs})`);
    }
    if (d.retryMinMs !== undefined && d.retryMaxMs === undefined && d.retryMinMs > DEFAULT_RETRY_MAX_MS) {
      throw new ConfigError('E_CONFIG_INVALID', `${at}: retryMinMs (${d.retryMinMs}) is larger than the default retryMaxMs (${DEFAULT_RETRY_MAX_MS}); set retryMaxMs too`);
    }
    if (d.type !== 'dalmatinerdb' && d.caFile !== undefined) checkReadableFile(d.caFile, `${at}/caFile`);
    const name = destinationName(d);
    if (names.has(name)) throw new ConfigError('E_CONFIG_INVALID', `${file}: /destinations/${i} name '${name}' is used twice; give each a "name"`);
    names.add(name);
    return d;
  });
}

const DEFAULT_RETRY_MAX_MS = DEFAULT_BACKOFF.maxMs;

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
        spoolMaxBytes: d.spoolMaxBytes,
        backoff: { minMs: d.retryMinMs ?? DEFAULT_BACKOFF.minMs, maxMs: d.retryMaxMs ?? DEFAULT_RETRY_MAX_MS },
        logger: deps.logger,
        stats: deps.stats,
      });
    }),
    deps.logger,
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
      resendWindowMs: d.resendWindowMs ?? DEFAULT_RESEND_WINDOW_MS,
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
    resendWindowMs: d.resendWindowMs ?? DEFAULT_RESEND_WINDOW_MS,
    onResend: (n) => deps.stats.count(`dest.${name}.resent`, n),
  });
}

function checkReadableFile(file: string, where: string): void {
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    accessSync(file, fsConstants.R_OK);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${where}: cannot read ${file}: ${errorMessage(err)}`);
  }
}

function parseAddressIn(text: string, where: string): void {
  try {
    parseAddress(text);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${where}: ${(err as Error).message}`);
  }
}
