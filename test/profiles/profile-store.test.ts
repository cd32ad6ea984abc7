import { stat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProfileError } from '../../src/errors.ts';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { buildProfile, configHeaderLines, parseSource, writeProfile } from '../../src/profiles/create-profile.ts';
import { ProfileStore, validateProfile } from '../../src/profiles/profile-store.ts';
import { rrduinoProfile, tempDir, writeProfileFile } from '../helpers/fixtures.ts';
import { REPO_ROOT } from '../helpers/repo.ts';

const registry = HandlerRegistry.withBuiltins();
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

function profileError(json: unknown): ProfileError {
  try {
    validateProfile(json, 'b', '/p/b.json', registry);
  } catch (err) {
    if (err instanceof ProfileError) return err;
    throw err;
  }
  throw new Error('profile was accepted');
}

describe('validateProfile', () => {
  it('accepts the bundled example profile', async () => {
    const json: unknown = JSON.parse(await readFile(join(REPO_ROOT, 'profiles/example.json'), 'utf8'));
    expect(validateProfile(json, 'example', 'example.json', registry).handlerName).toBe('RRDuinoHandler');
  });

  it('names the file and field when the key is missing', () => {
    const { handler_options } = rrduinoProfile() as { handler_options: object };
    const err = profileError({ handler_options });
    expect(err.code).toBe('E_PROFILE_INVALID');
    expect(err.field).toBe('/key');
    expect(err.message).toContain('/p/b.json');
  });

  it('rejects a bad create (no RRA)', () => {
    const err = profileError({ key: 'k'.repeat(12), handler_options: { path: 'a.rrd', create: ['--step', '60', 'DS:t:GAUGE:120:U:U'], update: 'N:{t}' } });
    expect(err.field).toBe('/handler_options/create');
  });

  it('rejects a create argument with a blank or quote', () => {
    const err = profileError({ key: 'k'.repeat(12), handler_options: { path: 'a.rrd', create: ['--step 60', 'DS:t:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], update: 'N:{t}' } });
    expect(err.field).toBe('/handler_options/create/0');
  });

  it('rejects an update template whose value count differs from the data sources', () => {
    const err = profileError({ key: 'k'.repeat(12), handler_options: { path: 'a.rrd', create: ['DS:t:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], update: 'N:{t}:{h}' } });
    expect(err.field).toBe('/handler_options/update');
  });

  it('refuses an rrd path that leaves the data dir, unless it is absolute', () => {
    const opts = (path: string) => ({ key: 'k'.repeat(12), handler_options: { path, create: ['DS:t:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], update: 'N:{t}' } });
    for (const path of ['../x.rrd', 'a/../../x.rrd', '..//x.rrd']) expect(profileError(opts(path)).field, path).toBe('/handler_options/path');
    for (const path of ['/var/lib/rrd/x.rrd', 'sub/../x.rrd', 'sub/x.rrd', '..x.rrd']) expect(validateProfile(opts(path), 'b', '/p/b.json', registry).clientId, path).toBe('b');
  });

  it('rejects an unknown handler and unknown fields', () => {
    expect(profileError({ key: 'k'.repeat(12), handler: 'NoSuchHandler' }).code).toBe('E_UNKNOWN_HANDLER');
    expect(profileError({ key: 'k'.repeat(12), extra: 1 }).message).toContain("unknown field 'extra'");
  });

  it('rejects an empty key', () => {
    expect(profileError({ key: '' }).field).toBe('/key');
  });

  it('accepts a short key (the original default, secret) with a W_SHORT_KEY warning that does not show the key', () => {
    const p = validateProfile({ ...rrduinoProfile('secret') }, 'a', 'a.json', registry);
    expect(p.warnings).toMatchObject([{ code: 'W_SHORT_KEY' }]);
    expect(p.warnings[0]?.message).not.toContain('secret');
    expect(validateProfile({ ...rrduinoProfile('x'.repeat(16)) }, 'a', 'a.json', registry).warnings).toEqual([]);
    expect(validateProfile({ ...rrduinoProfile('x'.repeat(15)) }, 'a', 'a.json', registry).warnings).toHaveLength(1);
  });
});

describe('ProfileStore', () => {
  it('returns undefined for an unknown client and reloads a changed file', async () => {
    const store = new ProfileStore(dir, registry);
    expect(await store.get('nobody')).toBeUndefined();
    await writeProfileFile(dir, 'a', rrduinoProfile('first-key-1'));
    expect((await store.get('a'))?.key).toBe('first-key-1');
    await new Promise((r) => setTimeout(r, 20));
    await writeProfileFile(dir, 'a', rrduinoProfile('second-key-22'));
    expect((await store.get('a'))?.key).toBe('second-key-22');
  });

  it('reports unreadable JSON with the file name', async () => {
    await writeFile(join(dir, 'bad.json'), '{ not json');
    const { errors } = await new ProfileStore(dir, registry).loadAll();
    expect(errors[0]?.code).toBe('E_PROFILE_UNREADABLE');
    expect(errors[0]?.message).toContain('bad.json');
  });

  it('refuses a client id that would leave the directory', () => {
    expect(() => new ProfileStore(dir, registry).fileFor('../x')).toThrow(ProfileError);
  });
});

describe('create profile', () => {
  it('writes a valid profile with mode 0600 and refuses to overwrite without force', async () => {
    const file = join(dir, 'greenhouse-2.json');
    const profile = buildProfile({ clientId: 'greenhouse-2', sources: [parseSource('temperature:GAUGE:-50:110'), parseSource('humidity:GAUGE:0:100')] });
    validateProfile(profile, 'greenhouse-2', file, registry);
    await writeProfile(file, profile);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(writeProfile(file, profile)).rejects.toMatchObject({ code: 'E_PROFILE_EXISTS' });
    await writeProfile(file, profile, true);
    expect(profile.key.length).toBeGreaterThanOrEqual(32);
    expect((profile.handler_options as { update: string }).update).toBe('N:{temperature}:{humidity}');
  });

  it('prints the config.h lines', () => {
    expect(configHeaderLines('b1', 'k')).toBe('#define CLIENT_ID "b1"\n#define CLIENT_KEY "k"\n');
  });

  it('rejects a malformed --source', () => {
    for (const s of ['t:NOPE:0:1', 'bad name:GAUGE:0:1', 't:GAUGE:x:1', 't:GAUGE:0:1:2']) expect(() => parseSource(s)).toThrow(ProfileError);
  });
});

describe('ProfileStore with a profile edited into an invalid state', () => {
  it('keeps serving the last good version, and reports the broken file once per version of it', async () => {
    const stale: string[] = [];
    const store = new ProfileStore(dir, registry, (err, serving) => stale.push(`${err.code} ${serving.key}`));
    await writeProfileFile(dir, 'a', rrduinoProfile('first-key-0123456'));
    expect((await store.get('a'))?.key).toBe('first-key-0123456');
    await writeFile(join(dir, 'a.json'), '{ "key": "second-key-0123456", "handler_options": { "path": "x.rrd" } }');
    expect((await store.get('a'))?.key).toBe('first-key-0123456');
    expect((await store.get('a'))?.key).toBe('first-key-0123456');
    expect(stale).toEqual(['E_PROFILE_INVALID first-key-0123456']);
    await writeProfileFile(dir, 'a', rrduinoProfile('third-key-0123456789'));
    expect((await store.get('a'))?.key).toBe('third-key-0123456789');
  });
});
