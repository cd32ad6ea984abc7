import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ProfileError } from '../errors.ts';
import { isUsableClientId } from '../protocol/message.ts';
import type { RRDuinoOptions } from '../handlers/rrduino-handler.ts';
import type { ProfileFile } from './profile-schema.ts';

export interface DataSource {
  name: string;
  /** rrdtool DST: GAUGE, COUNTER, DERIVE, ABSOLUTE. */
  type: string;
  min: string;
  max: string;
}

export interface NewProfileOptions {
  clientId: string;
  /** Pre-shared key; default: 32 random URL-safe characters (192 bits). */
  key?: string;
  sources?: DataSource[];
  /** rrd step, seconds. Default 60. */
  step?: number;
  /** DS heartbeat, seconds. Default 2 × step. */
  heartbeat?: number;
  /** RRA definitions; default {@link defaultRras}. */
  rras?: string[];
  /** rrd path; default {@link defaultRrdFile} under the data dir. */
  path?: string;
  handler?: string;
}

const DS_NAME = /^[A-Za-z0-9_]{1,19}$/;
const DS_TYPES = new Set(['GAUGE', 'COUNTER', 'DERIVE', 'DCOUNTER', 'DDERIVE', 'ABSOLUTE']);
const LIMIT = /^(U|-?\d+(\.\d+)?)$/;

/** Parses `name:TYPE:min:max` (`--source temperature:GAUGE:-50:110`); min/max may be `U`. */
export function parseSource(spec: string): DataSource {
  const [name = '', type = 'GAUGE', min = 'U', max = 'U', ...rest] = spec.split(':');
  if (rest.length > 0 || !DS_NAME.test(name) || !DS_TYPES.has(type.toUpperCase()) || !LIMIT.test(min) || !LIMIT.test(max)) {
    throw new ProfileError(
      'E_PROFILE_INVALID',
      `source '${spec}' must be name:TYPE:min:max (name of 1-19 letters, digits or _; TYPE GAUGE, COUNTER, DERIVE or ABSOLUTE; min/max a number or U)`,
    );
  }
  return { name, type: type.toUpperCase(), min, max };
}

/** A day of full-resolution points, then 5-step, hourly and daily consolidations (5 years). */
export function defaultRras(step: number): string[] {
  const perHour = Math.max(1, Math.round(3600 / step));
  const perDay = Math.max(1, Math.round(86400 / step));
  return [
    `RRA:AVERAGE:0.5:1:${perDay}`,
    `RRA:AVERAGE:0.5:5:${Math.max(1, Math.round((7 * 86400) / (5 * step)))}`,
    `RRA:AVERAGE:0.5:${perHour}:${90 * 24}`,
    `RRA:MIN:0.5:${perHour}:${90 * 24}`,
    `RRA:MAX:0.5:${perHour}:${90 * 24}`,
    `RRA:AVERAGE:0.5:${perDay}:${5 * 366}`,
  ];
}

/**
 * `<client_id>.rrd`, with characters other than letters, digits, `.`, `_` and `-` written
 * `%XX`: quotes cannot go on an rrdtool command line and `:` splits graph definitions,
 * and the escape keeps two ids from sharing a file.
 */
export function defaultRrdFile(clientId: string): string {
  return `${clientId.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}.rrd`;
}

/** Builds the profile JSON for a new board. Pure but for the random key. */
export function buildProfile(o: NewProfileOptions): ProfileFile {
  if (!isUsableClientId(o.clientId)) {
    throw new ProfileError('E_PROFILE_INVALID', `'${o.clientId}' is not a usable client id: 1-64 printable ASCII characters other than space, / and \\, not starting with .`);
  }
  const step = o.step ?? 60;
  if (!Number.isInteger(step) || step < 1) throw new ProfileError('E_PROFILE_INVALID', '--step must be a whole number of seconds ≥ 1');
  const heartbeat = o.heartbeat ?? 2 * step;
  if (heartbeat < step) {
    throw new ProfileError('E_PROFILE_INVALID', `--heartbeat ${heartbeat} is shorter than --step ${step}: rrdtool would store every value as unknown. Leave it out (2 × step) or make it at least the step`);
  }
  const sources = o.sources?.length ? o.sources : [parseSource('temperature:GAUGE:-50:110')];
  const names = new Set(sources.map((s) => s.name));
  if (names.size !== sources.length) throw new ProfileError('E_PROFILE_INVALID', 'source names must be unique');
  const options: RRDuinoOptions = {
    path: o.path ?? defaultRrdFile(o.clientId),
    create: [
      '--step',
      String(step),
      ...sources.map((s) => `DS:${s.name}:${s.type}:${heartbeat}:${s.min}:${s.max}`),
      ...(o.rras ?? defaultRras(step)),
    ],
    update: `N:${sources.map((s) => `{${s.name}}`).join(':')}`,
  };
  return {
    key: o.key ?? randomBytes(24).toString('base64url'),
    ...(o.handler ? { handler: o.handler } : {}),
    handler_options: options as unknown as Record<string, unknown>,
  };
}

/** Writes a profile with mode 0600; refuses to overwrite unless `force`. */
export async function writeProfile(file: string, profile: ProfileFile, force = false): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  let handle;
  try {
    handle = await open(file, force ? 'w' : 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ProfileError('E_PROFILE_EXISTS', `${file} exists; pass --force to overwrite it`, { file });
    }
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(profile, null, 2)}\n`);
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600); // 'w' keeps the mode of an existing file
}

/** The two lines a user pastes into the board's config.h (each firmware example has one). */
export function configHeaderLines(clientId: string, key: string): string {
  return `#define CLIENT_ID ${cString(clientId)}\n#define CLIENT_KEY ${cString(key)}\n`;
}

/** A C string literal of printable ASCII: ids may hold a double quote and keys a backslash. */
export function cString(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
