import type { Logger } from 'pino';
import { deliveryOptions } from '../delivery/delivery-config.ts';
import { DeliveryQueue } from '../delivery/delivery-queue.ts';
import { DestinationSet } from '../delivery/destination-set.ts';
import { ConfigError } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { ajv, describeSchemaError } from '../validation.ts';
import { DESTINATION_KINDS, withKind, type DestinationConfig } from './kinds.ts';

export type { DestinationConfig } from './kinds.ts';

/**
 * JSON Schema of one entry of the config's `destinations`. Ajv's discriminator picks the
 * branch by `type`, so an error names the field of that kind that is wrong, and an unknown
 * `type` is reported as such.
 */
export const destinationSchema = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: DESTINATION_KINDS.map((k) => k.schema),
};

const validateOne = ajv.compile<DestinationConfig>(destinationSchema);
const TYPES = DESTINATION_KINDS.map((k) => k.type);

/** Checks the `destinations` list; throws ConfigError naming the file, entry and field. */
export function validateDestinations(list: unknown[], file = 'config'): DestinationConfig[] {
  const names = new Set<string>();
  return list.map((entry, i) => {
    const at = `${file}: /destinations/${i}`;
    if (!validateOne(entry)) {
      const { field, detail } = describeSchemaError(validateOne.errors, { under: `/destinations/${i}`, allowed: { '/type': TYPES } });
      throw new ConfigError('E_CONFIG_INVALID', `${file}: ${field} ${detail}`);
    }
    withKind(entry, (kind, d) => kind.check(d, at));
    const name = destinationName(entry);
    if (names.has(name)) throw new ConfigError('E_CONFIG_INVALID', `${at} name '${name}' is used twice; give each a "name"`);
    names.add(name);
    return entry;
  });
}

/** The destination's `name`, or one made from its address. */
export function destinationName(d: DestinationConfig): string {
  return d.name ?? withKind(d, (kind, c) => kind.defaultName(c));
}

/** Builds every destination's sender and queue; spools live under `<dataDir>/spool/<name>`. */
export function buildDestinations(configs: readonly DestinationConfig[], deps: { dataDir: string; logger: Logger; stats: Stats }): DestinationSet {
  const queues = configs.map((d) => {
    const name = destinationName(d);
    const sender = withKind(d, (kind, c) => kind.createSender(c, { name, logger: deps.logger, stats: deps.stats }));
    return { kind: d.type, queue: new DeliveryQueue(sender, deliveryOptions(d, name, deps)) };
  });
  return new DestinationSet(queues.map((q) => q.queue), deps.logger, new Map(queues.map((q) => [q.queue, q.kind])));
}
