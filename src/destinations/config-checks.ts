import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { parseAddress, type StreamAddress } from '../delivery/stream-connection.ts';
import { ConfigError, errorMessage } from '../errors.ts';

/** Checks the destination config files can share: addresses, files, names. */

export function checkAddress(text: string, where: string): StreamAddress {
  try {
    return parseAddress(text);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${where}: ${errorMessage(err)}`);
  }
}

/** A file the gateway will read later (a CA bundle) must be readable now: exit 2 at start, naming it. */
export function checkReadableFile(file: string, where: string): void {
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    accessSync(file, fsConstants.R_OK);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${where}: cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** A default destination name from its parts: a safe directory name for its spool. */
export function nameFrom(...parts: Array<string | number>): string {
  return parts.join('-').replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The default name of a stream destination: `<kind>-[tls-]<host>-<port>`. */
export function nameFromAddress(kind: string, address: string): string {
  const a = parseAddress(address);
  return nameFrom(kind, ...(a.tls ? ['tls'] : []), a.host, a.port);
}
