import { resolve, isAbsolute } from 'node:path';
import { createLogger } from '../logger.ts';
import { HandlerRegistry } from '../handlers/handler-registry.ts';
import { ProfileStore } from '../profiles/profile-store.ts';
import { RrdService } from '../rrd/rrd-service.ts';
import { errorMessage } from '../errors.ts';

/** `list`: boards, their rrd files and last update. */
export async function listBoards(dir: string, dataDir: string, out: (line: string) => void): Promise<void> {
  const store = new ProfileStore(resolve(dir), HandlerRegistry.withBuiltins());
  const rrd = new RrdService({ processes: 1, logger: createLogger('silent') });
  try {
    const { profiles, errors } = await store.loadAll();
    out(['client_id', 'handler', 'rrd file', 'last update', 'values'].join('\t'));
    for (const p of profiles) {
      const opts = p.options as { path?: unknown };
      const path = typeof opts.path === 'string' ? (isAbsolute(opts.path) ? opts.path : resolve(dataDir, opts.path)) : '-';
      let last = 'never';
      let values = '';
      if (path !== '-') {
        try {
          const lu = await rrd.lastUpdate(path);
          last = lu.time.toISOString();
          values = Object.entries(lu.values).map(([k, v]) => `${k}=${v}`).join(' ');
        } catch {
          last = 'no rrd yet';
        }
      }
      out([p.clientId, p.handlerName, path, last, values].join('\t'));
    }
    for (const e of errors) out(`invalid profile: ${errorMessage(e)}`);
  } finally {
    await rrd.close();
  }
}
