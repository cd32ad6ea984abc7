import { dalmatinerKind, type DalmatinerDestinationConfig } from './dalmatinerdb/config.ts';
import type { DestinationKind } from './destination-kind.ts';
import { gottwallKind, type GottwallDestinationConfig } from './gottwall/config.ts';
import { graphiteKind, type GraphiteDestinationConfig } from './graphite/config.ts';

// A new kind of destination is a folder with a config.ts, plus one line in each of the three lists below.

/** One entry of the config's `destinations`, whichever kind. */
export type DestinationConfig = GraphiteDestinationConfig | DalmatinerDestinationConfig | GottwallDestinationConfig;

/** Every kind's `type` and schema, for validating the list. */
export const DESTINATION_KINDS: ReadonlyArray<{ readonly type: string; readonly schema: object }> = [graphiteKind, dalmatinerKind, gottwallKind];

/** Calls `f` with the kind of `d`, typed for it. */
export function withKind<R>(d: DestinationConfig, f: <C extends DestinationConfig>(kind: DestinationKind<C>, config: C) => R): R {
  switch (d.type) {
    case 'graphite':
      return f(graphiteKind, d);
    case 'dalmatinerdb':
      return f(dalmatinerKind, d);
    case 'gottwall':
      return f(gottwallKind, d);
  }
}
