import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/gateway-config.ts';
import { errorMessage } from '../errors.ts';
import { HandlerRegistry } from '../handlers/handler-registry.ts';
import { checkRrdProfile } from '../profiles/profile-check.ts';
import { ProfileStore } from '../profiles/profile-store.ts';
import { parseHttpAddress } from '../status/http-address.ts';

/**
 * `check`: every profile, as the gateway will load it and as rrdtool will take it (each
 * profile's rrd is created in a scratch directory). Returns the number of errors.
 */
export async function checkProfiles(dir: string, out: (line: string) => void, registry = HandlerRegistry.withBuiltins()): Promise<number> {
  const store = new ProfileStore(resolve(dir), registry);
  const { profiles, errors } = await store.loadAll();
  let failed = errors.length;
  const scratch = await mkdtemp(join(tmpdir(), 'rrduino-check-'));
  try {
    for (const p of profiles) {
      const findings = [...p.warnings.map((w) => ({ level: 'warning' as const, code: w.code, message: w.message })), ...(await checkRrdProfile(p, scratch))];
      const bad = findings.filter((f) => f.level === 'error');
      failed += bad.length > 0 ? 1 : 0;
      out(`${bad.length > 0 ? 'invalid' : 'ok     '} ${p.clientId} (${p.handlerName})`);
      for (const f of findings) out(`${f.level === 'error' ? 'error  ' : 'warning'} ${f.code}: ${f.message}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  for (const e of errors) out(`invalid ${errorMessage(e)}${e.field ? ` [field ${e.field}]` : ''}`);
  out(`${profiles.length + errors.length} profile(s): ${failed} with errors`);
  return failed;
}

/**
 * `check --config`: everything `serve --config` would load (the file, its destinations
 * with their CA files, handler modules, serial entries, the status page address) and then
 * the profiles it names. Returns the number of errors; the first config error is thrown.
 */
export async function checkConfig(file: string, out: (line: string) => void): Promise<number> {
  const cfg = await loadConfig(file);
  if (cfg.destinations?.length) {
    const { validateDestinations, destinationName } = await import('../destinations/destination-config.ts');
    const destinations = validateDestinations(cfg.destinations, file);
    out(`ok      ${destinations.length} destination(s): ${destinations.map(destinationName).join(', ')}`);
  }
  if (typeof cfg.http === 'string') parseHttpAddress(cfg.http);
  const registry = HandlerRegistry.withBuiltins();
  for (const module of cfg.handlers ?? []) out(`ok      handler module ${module}: ${(await registry.loadModule(module)).join(', ')}`);
  out(`ok      ${file}`);
  return checkProfiles(cfg.profiles ?? 'profiles', out, registry);
}
