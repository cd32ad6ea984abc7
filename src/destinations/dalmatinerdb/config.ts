import type { JSONSchemaType } from 'ajv';
import { checkDelivery, deliverySchemaProperties, type DeliveryConfig } from '../../delivery/delivery-config.ts';
import { DEFAULT_RESEND_WINDOW_MS, parseAddress } from '../../delivery/stream-connection.ts';
import { ConfigError } from '../../errors.ts';
import { checkAddress, nameFromAddress } from '../config-checks.ts';
import type { DestinationKind } from '../destination-kind.ts';
import type { Dialect } from './codec.ts';
import { DalmatinerSender } from './dalmatiner-sender.ts';

/** A DalmatinerDB server in stream mode (README, "DalmatinerDB and GottWall"; docs/dalmatinerdb.md). */
export interface DalmatinerDestinationConfig extends DeliveryConfig {
  type: 'dalmatinerdb';
  address: string;
  /** Default `doc`. */
  dialect?: Dialect;
  /** At most 255 bytes in UTF-8 (one length byte on the wire). */
  bucket: string;
  /** Seconds the server may hold points before writing them. Default 5. */
  maxDelay?: number;
  /** Readings × scale, rounded, are the integer points. Default 100. */
  scale?: number;
  /** release dialect only: mmath float words instead of scaled integers. */
  floats?: boolean;
  prefix?: string;
  /** Default 5000. */
  resendWindowMs?: number;
}

const schema: JSONSchemaType<DalmatinerDestinationConfig> = {
  type: 'object',
  required: ['type', 'address', 'bucket'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', const: 'dalmatinerdb' },
    address: { type: 'string' },
    dialect: { type: 'string', nullable: true, enum: ['doc', 'release'] },
    bucket: { type: 'string', minLength: 1, maxLength: 255 },
    maxDelay: { type: 'integer', nullable: true, minimum: 1, maximum: 255 },
    scale: { type: 'number', nullable: true, exclusiveMinimum: 0 },
    floats: { type: 'boolean', nullable: true },
    prefix: { type: 'string', nullable: true, pattern: '^[A-Za-z0-9_.-]*$', maxLength: 200 },
    resendWindowMs: { type: 'integer', nullable: true, minimum: 0, maximum: 600_000 },
    ...deliverySchemaProperties,
  },
};

export const dalmatinerKind: DestinationKind<DalmatinerDestinationConfig> = {
  type: 'dalmatinerdb',
  schema,
  check(d, at) {
    checkAddress(d.address, `${at}/address`);
    const bytes = Buffer.byteLength(d.bucket, 'utf8');
    // The stream init gives the bucket one length byte: bytes count, not characters.
    if (bytes > 255) throw new ConfigError('E_CONFIG_INVALID', `${at}/bucket is ${bytes} bytes in UTF-8; DalmatinerDB takes at most 255`);
    if (d.floats && d.dialect !== 'release') throw new ConfigError('E_CONFIG_INVALID', `${at}/floats: true needs "dialect": "release"`);
    checkDelivery(d, at);
  },
  defaultName(d) {
    return nameFromAddress('dalmatinerdb', d.address);
  },
  createSender(d, deps) {
    return new DalmatinerSender({
      name: deps.name,
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
  },
};
