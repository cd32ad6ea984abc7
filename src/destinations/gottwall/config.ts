import type { JSONSchemaType } from 'ajv';
import { checkDelivery, deliverySchemaProperties, type DeliveryConfig } from '../../delivery/delivery-config.ts';
import { checkReadableFile, nameFrom } from '../config-checks.ts';
import type { DestinationKind } from '../destination-kind.ts';
import { GottwallSender, type GottwallAction } from './gottwall-sender.ts';

/** A GottWall server over HTTP(S) (README, "DalmatinerDB and GottWall"; docs/gottwall.md). */
export interface GottwallDestinationConfig extends DeliveryConfig {
  type: 'gottwall';
  /** `http(s)://host:port`. */
  url: string;
  prefix?: string;
  project: string;
  publicKey: string;
  privateKey: string;
  /** Default `signature`. */
  auth?: 'signature' | 'basic';
  /** Solt rounding base, seconds. Default 1000. */
  base?: number;
  actions?: Record<string, GottwallAction>;
  /** Default `gauge`. */
  defaultAction?: GottwallAction;
  caFile?: string;
}

const ACTIONS: GottwallAction[] = ['incr', 'decr', 'avg', 'gauge'];

const schema: JSONSchemaType<GottwallDestinationConfig> = {
  type: 'object',
  required: ['type', 'url', 'project', 'publicKey', 'privateKey'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', const: 'gottwall' },
    url: { type: 'string', pattern: '^https?://[^/\\s]+$' },
    prefix: { type: 'string', nullable: true, pattern: '^[A-Za-z0-9_./-]*$' },
    project: { type: 'string', minLength: 1, maxLength: 200 },
    publicKey: { type: 'string', minLength: 1 },
    privateKey: { type: 'string', minLength: 1 },
    auth: { type: 'string', nullable: true, enum: ['signature', 'basic'] },
    base: { type: 'integer', nullable: true, minimum: 1 },
    actions: { type: 'object', nullable: true, required: [], additionalProperties: { type: 'string', enum: ACTIONS } },
    defaultAction: { type: 'string', nullable: true, enum: ACTIONS },
    caFile: { type: 'string', nullable: true, minLength: 1 },
    ...deliverySchemaProperties,
  },
};

export const gottwallKind: DestinationKind<GottwallDestinationConfig> = {
  type: 'gottwall',
  schema,
  check(d, at) {
    if (d.caFile !== undefined) checkReadableFile(d.caFile, `${at}/caFile`);
    checkDelivery(d, at);
  },
  defaultName(d) {
    const u = new URL(d.url);
    return nameFrom('gottwall', u.hostname, u.port || (u.protocol === 'https:' ? 443 : 80), d.project);
  },
  createSender(d) {
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
  },
};
