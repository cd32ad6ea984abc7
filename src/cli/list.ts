import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLogger } from '../logger.ts';
import { HandlerRegistry } from '../handlers/handler-registry.ts';
import { describeProfile, ProfileStore } from '../profiles/profile-store.ts';
import { RrdService } from '../rrd/rrd-service.ts';
import { errorMessage } from '../errors.ts';
import { ago } from '../status/status-page.ts';

/** One board as `list` shows it. */
export interface BoardListing {
  clientId: string;
  handler: string;
  rrdFile: string | undefined;
  /** `never`: no rrd file yet; `error`: rrdtool cannot read it (see `error`). */
  state: 'ok' | 'never' | 'error';
  lastUpdate: string | undefined;
  ageSeconds: number | undefined;
  values: Record<string, string>;
  error: string | undefined;
}

/** `list`: boards, their rrd files, last update and its age; a file rrdtool cannot read is an error. */
export async function listBoards(dir: string, dataDir: string, out: (line: string) => void, o: { json?: boolean; now?: () => number; rrdcached?: string; registry?: HandlerRegistry } = {}): Promise<BoardListing[]> {
  const now = o.now ?? Date.now;
  const store = new ProfileStore(resolve(dir), o.registry ?? HandlerRegistry.withBuiltins());
  const rrd = new RrdService({ processes: 1, logger: createLogger('silent'), rrdcached: o.rrdcached });
  const listing: BoardListing[] = [];
  let invalid: string[] = [];
  try {
    const { profiles, errors } = await store.loadAll();
    invalid = errors.map((e) => errorMessage(e));
    for (const p of profiles) {
      const path = describeProfile(p, resolve(dataDir)).rrd?.file;
      const b: BoardListing = { clientId: p.clientId, handler: p.handlerName, rrdFile: path, state: 'never', lastUpdate: undefined, ageSeconds: undefined, values: {}, error: undefined };
      if (path !== undefined && (await access(path).then(() => true, () => false))) {
        try {
          const lu = await rrd.lastUpdate(path);
          Object.assign(b, { state: 'ok', lastUpdate: lu.time.toISOString(), ageSeconds: Math.round((now() - lu.time.getTime()) / 1000), values: lu.values });
        } catch (err) {
          Object.assign(b, { state: 'error', error: errorMessage(err) });
        }
      }
      listing.push(b);
    }
  } finally {
    await rrd.close();
  }
  if (o.json) {
    out(JSON.stringify({ boards: listing, invalidProfiles: invalid }, null, 2));
    return listing;
  }
  out(['client_id', 'handler', 'rrd file', 'last update', 'age', 'values'].join('\t'));
  for (const b of listing) {
    const last = b.state === 'ok' ? (b.lastUpdate ?? '') : b.state === 'never' ? 'no rrd yet' : `ERROR ${b.error ?? ''}`;
    const age = b.ageSeconds === undefined ? '-' : ago(b.ageSeconds * 1000);
    out([b.clientId, b.handler, b.rrdFile ?? '-', last, age, Object.entries(b.values).map(([k, v]) => `${k}=${v}`).join(' ')].join('\t'));
  }
  for (const e of invalid) out(`invalid profile: ${e}`);
  return listing;
}
