import { readFile, readdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { join } from 'node:path';
import { ajv, describeSchemaError } from '../validation.ts';
import { ConfigError, GatewayError, ProfileError, errorMessage } from '../errors.ts';
import { parseJsonText } from '../config/json-text.ts';
import { isUsableClientId } from '../protocol/message.ts';
import type { HandlerDescription } from '../handlers/handler-description.ts';
import { DEFAULT_HANDLER, type HandlerClass, type HandlerRegistry } from '../handlers/handler-registry.ts';
import { profileSchema, type ProfileFile } from './profile-schema.ts';

/** A profile that passed validation, ready to build a handler from. */
export interface Profile {
  readonly clientId: string;
  readonly file: string;
  readonly key: string;
  readonly handlerName: string;
  readonly handlerClass: HandlerClass;
  readonly options: unknown;
  /** What is accepted but should be fixed (a short key); logged at load and by `check`. */
  readonly warnings: readonly ProfileWarning[];
}

/** How a serving gateway reports a profile that broke while its last good version is served. */
export function logStaleProfile(logger: Logger): (err: ProfileError, serving: Profile) => void {
  return (err, serving) =>
    logger.error({ code: err.code, file: err.file, field: err.field, clientId: serving.clientId }, `${errorMessage(err)}; serving its last good version until the file is fixed`);
}

/**
 * What the profile's handler stores (its class's `describe`); a handler whose `describe` throws
 * describes nothing rather than stopping the page, `list` or the silence check.
 */
export function describeProfile(p: Profile, dataDir: string): HandlerDescription {
  try {
    return p.handlerClass.describe(p.options, dataDir);
  } catch {
    return {};
  }
}

/** Something a valid profile should not have; the board is served all the same. */
export interface ProfileWarning {
  readonly code: 'W_SHORT_KEY';
  readonly message: string;
}

/** Keys shorter than this are guessable offline from one captured session (docs/protocol.md, "Profiles and keys"). */
export const SHORT_KEY_CHARS = 16;

/** The warnings of a profile that is valid. */
export function profileWarnings(key: string, file: string): ProfileWarning[] {
  if (key.length >= SHORT_KEY_CHARS) return [];
  return [{
    code: 'W_SHORT_KEY',
    message: `${file}: key has ${key.length} characters; accepted, but anyone who records one session can guess a short key offline. Give the board a long key: \`server.ts create <id> --force\` makes one, and prints the config.h lines to flash`,
  }];
}

/** Profiles larger than this are not read: a profile is a few hundred bytes. */
const MAX_PROFILE_BYTES = 64 * 1024;

const validateProfileShape = ajv.compile(profileSchema);

/** Validates parsed profile JSON; throws ProfileError naming the file and field. */
export function validateProfile(json: unknown, clientId: string, file: string, registry: HandlerRegistry): Profile {
  if (!validateProfileShape(json)) {
    const { field, detail } = describeSchemaError(validateProfileShape.errors);
    throw new ProfileError('E_PROFILE_INVALID', `${file}: ${field} ${detail}`, { file, field });
  }
  const p = json as ProfileFile;
  const handlerName = p.handler ?? DEFAULT_HANDLER;
  try {
    const handlerClass = registry.get(handlerName);
    const options = p.handler_options ?? {};
    handlerClass.validateOptions(options);
    return { clientId, file, key: p.key, handlerName, handlerClass, options, warnings: profileWarnings(p.key, file) };
  } catch (err) {
    const field = err instanceof ProfileError ? err.field : '/handler_options';
    const code = err instanceof GatewayError ? err.code : 'E_PROFILE_INVALID';
    throw new ProfileError(code, `${file}: ${errorMessage(err)}`, { file, field, cause: err });
  }
}

/**
 * Profiles in one directory, read when a board says hello and re-read when the
 * file changes, so `create` works while the gateway runs. A profile edited into an
 * invalid state is reported once (`onStale`) and its last good version goes on serving.
 */
export class ProfileStore {
  readonly dir: string;
  readonly #registry: HandlerRegistry;
  readonly #cache = new Map<string, { mtimeMs: number; size: number; profile: Profile; broken?: { mtimeMs: number; size: number } }>();
  readonly #onStale: ((err: ProfileError, serving: Profile) => void) | undefined;

  constructor(dir: string, registry: HandlerRegistry, onStale?: (err: ProfileError, serving: Profile) => void) {
    this.dir = dir;
    this.#registry = registry;
    this.#onStale = onStale;
  }

  fileFor(clientId: string): string {
    if (!isUsableClientId(clientId)) throw new ProfileError('E_PROFILE_INVALID', `'${clientId}' is not a valid client id`);
    return join(this.dir, `${clientId}.json`);
  }

  /** The profile last loaded for `clientId`, without touching the disk. */
  peek(clientId: string): Profile | undefined {
    return this.#cache.get(clientId)?.profile;
  }

  /** The profile of `clientId`, undefined if there is none. Throws ProfileError if it is invalid. */
  async get(clientId: string): Promise<Profile | undefined> {
    const file = this.fileFor(clientId);
    let st;
    try {
      st = await stat(file);
    } catch {
      this.#cache.delete(clientId);
      return undefined;
    }
    const cached = this.#cache.get(clientId);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.profile;
    if (cached?.broken && cached.broken.mtimeMs === st.mtimeMs && cached.broken.size === st.size) return cached.profile;
    let profile: Profile;
    try {
      profile = await this.#load(clientId, file, st.size);
    } catch (err) {
      if (!cached || !(err instanceof ProfileError) || this.#onStale === undefined) throw err;
      cached.broken = { mtimeMs: st.mtimeMs, size: st.size };
      this.#onStale(err, cached.profile);
      return cached.profile;
    }
    this.#cache.set(clientId, { mtimeMs: st.mtimeMs, size: st.size, profile });
    return profile;
  }

  /** Throws ProfileError E_PROFILE_UNREADABLE when the directory cannot be listed. */
  async readable(): Promise<void> {
    try {
      await readdir(this.dir);
    } catch (err) {
      throw new ProfileError('E_PROFILE_UNREADABLE', `cannot read profile directory ${this.dir}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Every profile in the directory, with the errors of those that are invalid. */
  async loadAll(): Promise<{ profiles: Profile[]; errors: ProfileError[] }> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      throw new ProfileError('E_PROFILE_UNREADABLE', `cannot read profile directory ${this.dir}: ${errorMessage(err)}`, { cause: err });
    }
    const profiles: Profile[] = [];
    const errors: ProfileError[] = [];
    for (const name of names) {
      const clientId = name.slice(0, -'.json'.length);
      const file = join(this.dir, name);
      if (!isUsableClientId(clientId)) {
        errors.push(new ProfileError('E_PROFILE_INVALID', `${file}: file name is not a valid client id`, { file }));
        continue;
      }
      try {
        const p = await this.get(clientId);
        if (p) profiles.push(p);
      } catch (err) {
        errors.push(err instanceof ProfileError ? err : new ProfileError('E_PROFILE_UNREADABLE', `${file}: ${errorMessage(err)}`, { file }));
      }
    }
    return { profiles, errors };
  }

  async #load(clientId: string, file: string, size: number): Promise<Profile> {
    if (size > MAX_PROFILE_BYTES) {
      throw new ProfileError('E_PROFILE_INVALID', `${file}: larger than ${MAX_PROFILE_BYTES} bytes`, { file });
    }
    let json: unknown;
    try {
      // A copy: the parser's strings are slices of the file's text and would keep all of it, for
      // every profile, for as long as the gateway runs (2 MB with 10,000 boards).
      json = structuredClone(parseJsonText(await readFile(file, 'utf8'), file));
    } catch (err) {
      throw new ProfileError('E_PROFILE_UNREADABLE', err instanceof ConfigError ? err.message : `${file}: cannot read: ${errorMessage(err)}`, { file, cause: err });
    }
    return validateProfile(json, clientId, file, this.#registry);
  }
}
