import type { JSONSchemaType } from 'ajv';
import type { Logger } from 'pino';
import type { Sender } from '../delivery/sender.ts';
import type { Stats } from '../stats.ts';

/** What a sender may use: its destination's name, the logger, the counters. */
export interface SenderDeps {
  readonly name: string;
  readonly logger: Logger;
  readonly stats: Stats;
}

/**
 * One kind of destination (graphite, dalmatinerdb, gottwall): its config's schema,
 * the checks a schema cannot express, its default name, and how to make its sender.
 * A new kind is a folder with a `config.ts` exporting one of these, plus one line in
 * `kinds.ts`.
 */
export interface DestinationKind<C extends { type: string }> {
  readonly type: C['type'];
  /** Must require `type` with a `const`: the destination list is validated with Ajv's discriminator on it. */
  readonly schema: JSONSchemaType<C>;
  /** Throws ConfigError naming `at` (e.g. `gateway.json: /destinations/0`) and the field. */
  check(config: C, at: string): void;
  defaultName(config: C): string;
  createSender(config: C, deps: SenderDeps): Sender;
}
