import { ProtocolError } from '../errors.ts';
import { isHmacHex } from './key-schedule.ts';

/** Client ids name profile files: letters, digits, `.`, `_`, `-`, not starting with `.`, ≤ 64 chars. */
const CLIENT_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
/** Keys of update pairs end up in rrd templates and metric names; keep them plain. */
const FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** A decimal as Arduino prints it (`21.50`, `-3`, `40`), optionally with an exponent. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$/;
/** Printable ASCII and space only; a line is text (docs/protocol.md, "Wire format"). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** A reading value: a finite number, or null for rrdtool's `U` (unknown). */
export type ReadingValue = number | null;

/** One parsed line: its type and its space-separated fields after the type. */
export interface RawMessage {
  readonly type: string;
  readonly fields: readonly string[];
  readonly line: string;
}

/** A message whose last field is an HMAC over everything before ` <hmac>`. */
export interface SignedMessage extends RawMessage {
  readonly signedText: string;
  readonly hmac: string;
  /** Fields between the type and the HMAC. */
  readonly body: readonly string[];
}

export function isValidClientId(id: string): boolean {
  return CLIENT_ID.test(id);
}

/**
 * Decodes one line (without its `\n`; a trailing `\r` is stripped) into text.
 * Throws E_NOT_ASCII for bytes outside printable ASCII, E_EMPTY_LINE for nothing.
 */
export function decodeLine(bytes: Buffer): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const line = bytes.toString('latin1', 0, end);
  if (line.length === 0) throw new ProtocolError('E_EMPTY_LINE', 'empty line');
  if (!PRINTABLE_ASCII.test(line)) {
    throw new ProtocolError('E_NOT_ASCII', 'line contains bytes outside printable ASCII');
  }
  return line;
}

/** Splits a line on single spaces (docs/protocol.md, "Wire format"). */
export function parseLine(line: string): RawMessage {
  const parts = line.split(' ');
  const type = parts[0] ?? '';
  if (type === '' || parts.some((p) => p === '')) {
    throw new ProtocolError('E_MALFORMED', 'fields must be separated by exactly one space');
  }
  return { type, fields: parts.slice(1), line };
}

/** Splits off the trailing HMAC of a message type that requires one. */
export function parseSigned(raw: RawMessage): SignedMessage {
  const hmac = raw.fields[raw.fields.length - 1];
  if (hmac === undefined || !isHmacHex(hmac)) {
    throw new ProtocolError('E_MISSING_HMAC', `'${raw.type}' must end with a 64-character lowercase hex HMAC`);
  }
  return {
    ...raw,
    hmac,
    body: raw.fields.slice(0, -1),
    signedText: raw.line.slice(0, raw.line.length - hmac.length - 1),
  };
}

/** The client id of a hello `h <client_id>`. */
export function parseHello(raw: RawMessage): string {
  if (raw.fields.length !== 1) throw new ProtocolError('E_MALFORMED', 'hello must be exactly "h <client_id>"');
  const id = raw.fields[0] as string;
  if (!isValidClientId(id)) {
    throw new ProtocolError(
      'E_BAD_CLIENT_ID',
      'client id must be 1-64 letters, digits, ".", "_" or "-" and not start with "."',
    );
  }
  return id;
}

/** A value as a board sends it: a finite decimal, or `U`. */
export function parseValue(text: string): ReadingValue {
  if (text === 'U') return null;
  if (!DECIMAL.test(text)) throw new ProtocolError('E_BAD_VALUE', `value '${clip(text)}' is not a number or U`);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ProtocolError('E_BAD_VALUE', `value '${clip(text)}' is out of range`);
  return value;
}

/**
 * The key/value pairs of a verified update body: `k1 v1 [k2 v2 ...]`, keys unique.
 * Its errors are E_BAD_PAIRS and E_BAD_VALUE: the board signed a message of a bad shape.
 */
export function parsePairs(body: readonly string[]): Array<[string, ReadingValue]> {
  if (body.length === 0 || body.length % 2 !== 0) {
    throw new ProtocolError('E_BAD_PAIRS', `an update needs key/value pairs, got ${body.length} field(s)`);
  }
  const pairs: Array<[string, ReadingValue]> = [];
  const seen = new Set<string>();
  for (let i = 0; i < body.length; i += 2) {
    const key = body[i] as string;
    if (!FIELD_KEY.test(key)) throw new ProtocolError('E_BAD_PAIRS', `key '${clip(key)}' is not a valid name`);
    if (seen.has(key)) throw new ProtocolError('E_BAD_PAIRS', `key '${key}' appears twice`);
    seen.add(key);
    pairs.push([key, parseValue(body[i + 1] as string)]);
  }
  return pairs;
}

/** Formats a signed line as a board sends it (used by firmware-sim and tests). */
export function formatSignedLine(signedText: string, hmac: string): string {
  return `${signedText} ${hmac}\n`;
}

function clip(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}
