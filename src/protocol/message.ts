import { ProtocolError } from '../errors.ts';
import { isHmacHex } from './key-schedule.ts';

/**
 * A usable client id names a profile file: 1–64 printable ASCII characters other than
 * space, `/` and `\`, not starting with `.` (docs/protocol.md, "Hello and client ids").
 */
const USABLE_CLIENT_ID = /^(?!\.)[!-.0-[\]-~]{1,64}$/;
/** A decimal as Arduino prints it (`21.50`, `-3`, `40`), optionally with an exponent. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?$/;
/** Printable ASCII and space only; a line is text (docs/protocol.md, "Wire format"). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const H = 0x68;

/** A reading value: a finite number, or null for rrdtool's `U` (unknown). */
export type ReadingValue = number | null;

/** One parsed line: its type and its space-separated fields after the type. */
export interface RawMessage {
  readonly type: string;
  /** The fields after the type; empty ones (from doubled spaces) are left out. */
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

/** Something a verified update said that could not be taken as written; the rest of it is. */
export interface UpdateWarning {
  /** E_BAD_VALUE: the value is stored as U. E_BAD_PAIRS: a key without a value, ignored. */
  readonly code: 'E_BAD_VALUE' | 'E_BAD_PAIRS';
  readonly key: string;
  readonly message: string;
}

/** The values of a verified update, and what was wrong with the way it was written. */
export interface ParsedUpdate {
  readonly values: Map<string, ReadingValue>;
  readonly warnings: readonly UpdateWarning[];
  /** How many keys came more than once (the last value is kept, as the original server did). */
  readonly repeatedKeys: number;
}

export function isUsableClientId(id: string): boolean {
  return USABLE_CLIENT_ID.test(id);
}

/** The line without trailing spaces, tabs and CRs (the original's `readline().rstrip()`). */
export function trimLineEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0) {
    const b = bytes[end - 1];
    if (b !== SPACE && b !== TAB && b !== CR) break;
    end--;
  }
  return end === bytes.length ? bytes : bytes.subarray(0, end);
}

/**
 * The client id of a hello line (`h <client_id>`), usable or not, or undefined when the line is
 * not a hello. Read from the bytes, so that a hello is answered whatever its id holds.
 */
export function helloClientId(bytes: Buffer): string | undefined {
  const line = trimLineEnd(bytes);
  if (line[0] !== H || (line.length > 1 && line[1] !== SPACE)) return undefined;
  return line.toString('latin1', 2);
}

/**
 * Whether a line holds nothing but blanks (spaces, tabs, CRs): boards write one before a hello
 * (our SerialThermistor does), and it carries nothing to answer or refuse.
 */
export function isBlankLine(bytes: Buffer): boolean {
  return trimLineEnd(bytes).length === 0;
}

/**
 * Decodes one line (without its `\n`; trailing whitespace is stripped) into text.
 * Throws E_NOT_ASCII for bytes outside printable ASCII, E_EMPTY_LINE for nothing.
 */
export function decodeLine(bytes: Buffer): string {
  const line = trimLineEnd(bytes).toString('latin1');
  if (line.length === 0) throw new ProtocolError('E_EMPTY_LINE', 'empty line');
  if (!PRINTABLE_ASCII.test(line)) {
    throw new ProtocolError('E_NOT_ASCII', 'line contains bytes outside printable ASCII');
  }
  return line;
}

/** Splits a line into its type and fields (docs/protocol.md, "Wire format"). */
export function parseLine(line: string): RawMessage {
  const parts = line.split(' ');
  const type = parts[0] ?? '';
  if (type === '') throw new ProtocolError('E_MALFORMED', 'a line must start with its message type');
  // The fields are the parts after the type, in place: one array per line, not three.
  let kept = 0;
  for (let i = 1; i < parts.length; i++) if (parts[i] !== '') parts[kept++] = parts[i] as string;
  parts.length = kept;
  return { type, fields: parts, line };
}

/** Splits off the trailing HMAC of a message type that requires one: the signed text is every byte before the last space. */
export function parseSigned(raw: RawMessage): SignedMessage {
  const cut = raw.line.lastIndexOf(' ');
  const hmac = cut < 0 ? '' : raw.line.slice(cut + 1);
  if (!isHmacHex(hmac)) {
    throw new ProtocolError('E_MISSING_HMAC', `'${raw.type}' must end with a 64-character lowercase hex HMAC`);
  }
  // Listed, not spread: a spread copy cost 2 µs a line, more than parsing the rest of it.
  return { type: raw.type, fields: raw.fields, line: raw.line, hmac, body: raw.fields.slice(0, -1), signedText: raw.line.slice(0, cut) };
}

/** A value as a board sends it: a finite decimal, or `U`. Throws E_BAD_VALUE for anything else. */
export function parseValue(text: string): ReadingValue {
  if (text === 'U') return null;
  if (!DECIMAL.test(text)) throw new ProtocolError('E_BAD_VALUE', `value '${clip(text)}' is not a number or U`);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ProtocolError('E_BAD_VALUE', `value '${clip(text)}' is out of range`);
  return value;
}

/**
 * The values of a verified update body `k1 v1 [k2 v2 ...]`. Never throws: the HMAC proved
 * the board sent it, so it is taken as far as it can be (docs/protocol.md, "Updates").
 */
export function parseUpdate(body: readonly string[]): ParsedUpdate {
  const values = new Map<string, ReadingValue>();
  const warnings: UpdateWarning[] = [];
  let repeatedKeys = 0;
  for (let i = 0; i < body.length; i += 2) {
    const key = body[i] as string;
    const text = body[i + 1];
    if (text === undefined) {
      warnings.push({ code: 'E_BAD_PAIRS', key, message: `key '${clip(key)}' has no value; ignored` });
      break;
    }
    let value: ReadingValue;
    try {
      value = parseValue(text);
    } catch {
      value = null;
      warnings.push({ code: 'E_BAD_VALUE', key, message: `value '${clip(text)}' of '${clip(key)}' is not a finite number; stored as U` });
    }
    if (values.has(key)) {
      repeatedKeys++;
      values.delete(key); // the last value wins, in the position it was sent
    }
    values.set(key, value);
  }
  return { values, warnings, repeatedKeys };
}

/** Formats a signed line as a board sends it (used by firmware-sim and tests). */
export function formatSignedLine(signedText: string, hmac: string, ending = '\n'): string {
  return `${signedText} ${hmac}${ending}`;
}

/** A board-controlled text, short and printable, for a log line. */
export function clip(text: string): string {
  const shown = text.length > 24 ? `${text.slice(0, 24)}…` : text;
  return shown.replace(/[^\x20-\x7e…]/g, '?');
}
