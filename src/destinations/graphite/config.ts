import type { JSONSchemaType } from 'ajv';
import { checkDelivery, deliverySchemaProperties, type DeliveryConfig } from '../../delivery/delivery-config.ts';
import { DEFAULT_RESEND_WINDOW_MS, parseAddress } from '../../delivery/stream-connection.ts';
import { checkAddress, checkReadableFile, nameFromAddress } from '../config-checks.ts';
import type { DestinationKind } from '../destination-kind.ts';
import { GraphiteSender } from './graphite-sender.ts';

/** A carbon-cache, carbon-relay or Hosted Graphite (README, "Destinations"). */
export interface GraphiteDestinationConfig extends DeliveryConfig {
  type: 'graphite';
  /** `host:port` or `tls://host:port`. */
  address: string;
  /** Default `pickle`. */
  protocol?: 'plaintext' | 'pickle';
  /** First part of every metric path. Default `rrduino`. */
  prefix?: string;
  /** Hosted Graphite's API key, put in front of every path. */
  apiKey?: string;
  /** PEM CA bundle for TLS; default the system's CAs. */
  caFile?: string;
  /** Writes of the last this-many ms are sent again after a reconnect. Default 5000. */
  resendWindowMs?: number;
}

const schema: JSONSchemaType<GraphiteDestinationConfig> = {
  type: 'object',
  required: ['type', 'address'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', const: 'graphite' },
    address: { type: 'string' },
    protocol: { type: 'string', nullable: true, enum: ['plaintext', 'pickle'] },
    prefix: { type: 'string', nullable: true, pattern: '^[A-Za-z0-9_.-]*$', maxLength: 200 },
    apiKey: { type: 'string', nullable: true, minLength: 1, maxLength: 200 },
    caFile: { type: 'string', nullable: true, minLength: 1 },
    resendWindowMs: { type: 'integer', nullable: true, minimum: 0, maximum: 600_000 },
    ...deliverySchemaProperties,
  },
};

export const graphiteKind: DestinationKind<GraphiteDestinationConfig> = {
  type: 'graphite',
  schema,
  check(d, at) {
    checkAddress(d.address, `${at}/address`);
    if (d.caFile !== undefined) checkReadableFile(d.caFile, `${at}/caFile`);
    checkDelivery(d, at);
  },
  defaultName(d) {
    return nameFromAddress('graphite', d.address);
  },
  createSender(d) {
    return new GraphiteSender({
      address: parseAddress(d.address),
      protocol: d.protocol ?? 'pickle',
      prefix: d.prefix ?? 'rrduino',
      apiKey: d.apiKey,
      caFile: d.caFile,
      resendWindowMs: d.resendWindowMs ?? DEFAULT_RESEND_WINDOW_MS,
    });
  },
};
