import { describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/error-code.ts';
import { clip, decodeLine, helloClientId, isUsableClientId, parseLine, parseSigned, parseUpdate, parseValue } from '../../src/protocol/message.ts';

const HMAC = 'bf7154abbc7c7b2f0d1e72464e7249eb8d4ac4b9576b375d89b22d40e3aa12c4';


describe('decodeLine', () => {
  it('strips trailing whitespace: any number of CRs, spaces and tabs', () => {
    expect(decodeLine(Buffer.from('h example\r'))).toBe('h example');
    expect(decodeLine(Buffer.from('h kitchen \r\r'))).toBe('h kitchen');
    expect(decodeLine(Buffer.from('u t 1 x\t \r'))).toBe('u t 1 x');
  });
  it('rejects bytes outside printable ASCII', () => {
    expect(codeOf(() => decodeLine(Buffer.from([0x68, 0x20, 0xff])))).toBe('E_NOT_ASCII');
    expect(codeOf(() => decodeLine(Buffer.from('h a\0b')))).toBe('E_NOT_ASCII');
  });
  it('rejects an empty line, and one of only whitespace', () => {
    expect(codeOf(() => decodeLine(Buffer.from('\r')))).toBe('E_EMPTY_LINE');
    expect(codeOf(() => decodeLine(Buffer.from(' \t\r\r')))).toBe('E_EMPTY_LINE');
  });
});

describe('parseLine', () => {
  it('splits the type from the fields', () => {
    expect(parseLine('u temperature 21.50 x')).toMatchObject({ type: 'u', fields: ['temperature', '21.50', 'x'] });
  });
  it('leaves out the empty fields of doubled spaces', () => {
    expect(parseLine('u  a 1')).toMatchObject({ type: 'u', fields: ['a', '1'] });
  });
  it('rejects a line that starts with a space', () => {
    expect(codeOf(() => parseLine(' u a'))).toBe('E_MALFORMED');
  });
});

describe('parseSigned', () => {
  it('signs everything before " <hmac>"', () => {
    const s = parseSigned(parseLine(`u temperature 21.50 ${HMAC}`));
    expect(s.signedText).toBe('u temperature 21.50');
    expect(s.body).toEqual(['temperature', '21.50']);
    expect(s.hmac).toBe(HMAC);
  });
  it('signs the exact bytes, doubled spaces and all', () => {
    const s = parseSigned(parseLine(`u  temperature 21.50 ${HMAC}`));
    expect(s.signedText).toBe('u  temperature 21.50');
    expect(s.body).toEqual(['temperature', '21.50']);
  });
  it('rejects a missing or truncated HMAC', () => {
    expect(codeOf(() => parseSigned(parseLine('u temperature 21.50')))).toBe('E_MISSING_HMAC');
    expect(codeOf(() => parseSigned(parseLine(`u temperature 21.50 ${HMAC.slice(0, 40)}`)))).toBe('E_MISSING_HMAC');
    expect(codeOf(() => parseSigned(parseLine('u')))).toBe('E_MISSING_HMAC');
  });
});

describe('hello lines', () => {
  it('finds the id of a hello, usable or not, and nothing in other lines', () => {
    expect(helloClientId(Buffer.from('h greenhouse-2'))).toBe('greenhouse-2');
    expect(helloClientId(Buffer.from('h kitchen#1 \r\r'))).toBe('kitchen#1');
    expect(helloClientId(Buffer.from('h a b'))).toBe('a b');
    expect(helloClientId(Buffer.from('h'))).toBe('');
    expect(helloClientId(Buffer.from([0x68, 0x20, 0x6b, 0xfc]))).toBe('k\u00fc');
    for (const other of ['hx', 'u h', ' h a', '']) expect(helloClientId(Buffer.from(other)), other).toBeUndefined();
  });
  it('calls usable every id of 1-64 printable characters but space, / and \\, not starting with .', () => {
    for (const id of ['kitchen#1', '28-ff-4a', 'Board_7', 'a'.repeat(64), 'a"b', 'x.y', '~!@$%^&*()[]{}:;<>?,=+|`\'']) expect(isUsableClientId(id), id).toBe(true);
    for (const id of ['../x', '.hidden', 'a/b', 'a\\b', '', 'a b', 'a'.repeat(65), 'k\u00fc', 'a\tb']) expect(isUsableClientId(id), id).toBe(false);
  });
});

describe('parseValue', () => {
  it('reads what Arduino prints', () => {
    expect(parseValue('21.50')).toBe(21.5);
    expect(parseValue('-3.25')).toBe(-3.25);
    expect(parseValue('40')).toBe(40);
    expect(parseValue('U')).toBeNull();
  });
  it('rejects 1:2, abc, 1e999, nan, inf and ovf', () => {
    for (const v of ['1:2', 'abc', '1e999', 'nan', 'inf', 'ovf', '', '0x10', '1,5']) {
      expect(codeOf(() => parseValue(v))).toBe('E_BAD_VALUE');
    }
  });
});

describe('clip', () => {
  it('keeps board text short and printable for a log line', () => {
    expect(clip('x'.repeat(24))).toBe('x'.repeat(24));
    expect(clip('x'.repeat(25))).toBe(`${'x'.repeat(24)}…`);
    expect(clip('a\u0001b\u00ffc')).toBe('a?b?c');
  });
});

describe('parseUpdate', () => {
  it('pairs keys and values', () => {
    expect(parseUpdate(['temperature', '18.06', 'humidity', '54'])).toEqual({ values: new Map([['temperature', 18.06], ['humidity', 54]]), warnings: [], repeatedKeys: 0 });
  });
  it('takes any key a board sends: DS18B20 addresses, 1wire, punctuation', () => {
    const { values, warnings } = parseUpdate(['28ff4a0b1c00', '21.50', '1wire', '3', 'a/b{c}', '1']);
    expect([...values.keys()]).toEqual(['28ff4a0b1c00', '1wire', 'a/b{c}']);
    expect(warnings).toEqual([]);
  });
  it('stores a value that is not a finite number as U, with a warning naming its key', () => {
    for (const bad of ['nan', 'inf', '-inf', '1e999', 'abc', '1:2', 'ovf']) {
      const { values, warnings } = parseUpdate(['temperature', bad, 'humidity', '54']);
      expect(values, bad).toEqual(new Map([['temperature', null], ['humidity', 54]]));
      expect(warnings, bad).toMatchObject([{ code: 'E_BAD_VALUE', key: 'temperature' }]);
      expect(warnings[0]?.message, bad).toBe(`value '${bad}' of 'temperature' is not a finite number; stored as U`);
    }
  });
  it('keeps the last value of a repeated key', () => {
    const { values, repeatedKeys, warnings } = parseUpdate(['t', '1', 'h', '5', 't', '2']);
    expect(values).toEqual(new Map([['h', 5], ['t', 2]]));
    expect(repeatedKeys).toBe(1);
    expect(warnings).toEqual([]);
  });
  it('ignores a key without a value, with a warning', () => {
    const { values, warnings } = parseUpdate(['temperature', '1', 'humidity']);
    expect(values).toEqual(new Map([['temperature', 1]]));
    expect(warnings).toMatchObject([{ code: 'E_BAD_PAIRS', key: 'humidity', message: "key 'humidity' has no value; ignored" }]);
  });
  it('takes an update with no pairs as no values', () => {
    expect(parseUpdate([])).toEqual({ values: new Map(), warnings: [], repeatedKeys: 0 });
  });
});

describe('the edges of the line grammar', () => {
  it('strips the CR before the newline, and calls a line of only CR empty', () => {
    expect(decodeLine(Buffer.from('h a\r'))).toBe('h a');
    expect(codeOf(() => decodeLine(Buffer.from('\r')))).toBe('E_EMPTY_LINE');
    expect(codeOf(() => decodeLine(Buffer.from('')))).toBe('E_EMPTY_LINE');
  });

  it('takes an HMAC of exactly 64 lowercase hex characters, nothing around it', () => {
    const hex = 'a'.repeat(64);
    expect(parseSigned(parseLine(`u t 1 ${hex}`)).hmac).toBe(hex);
    for (const bad of [`x${hex}`, `${hex}0`, 'A'.repeat(64), 'a'.repeat(63)]) expect(codeOf(() => parseSigned(parseLine(`u t 1 ${bad}`))), bad).toBe('E_MISSING_HMAC');
  });

  it('reads every decimal form a board prints, and nothing else', () => {
    for (const [text, value] of [['.5', 0.5], ['.55', 0.55], ['5.', 5], ['+1', 1], ['-0.25', -0.25], ['1e5', 1e5], ['2E-3', 0.002], ['1e+308', 1e308]] as const) expect(parseValue(text), text).toBe(value);
    for (const bad of ['.', '.e1', '1e', '1e1234', '0x10', '1_000', ' 1', '1.2.3']) expect(codeOf(() => parseValue(bad)), bad).toBe('E_BAD_VALUE');
  });
});
