import { describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/error-code.ts';
import { decodeLine, isValidClientId, parseHello, parseLine, parsePairs, parseSigned, parseValue } from '../../src/protocol/message.ts';

const HMAC = 'bf7154abbc7c7b2f0d1e72464e7249eb8d4ac4b9576b375d89b22d40e3aa12c4';


describe('decodeLine', () => {
  it('strips one trailing CR', () => {
    expect(decodeLine(Buffer.from('h example\r'))).toBe('h example');
  });
  it('rejects bytes outside printable ASCII', () => {
    expect(codeOf(() => decodeLine(Buffer.from([0x68, 0x20, 0xff])))).toBe('E_NOT_ASCII');
    expect(codeOf(() => decodeLine(Buffer.from('h a\0b')))).toBe('E_NOT_ASCII');
  });
  it('rejects an empty line', () => {
    expect(codeOf(() => decodeLine(Buffer.from('\r')))).toBe('E_EMPTY_LINE');
  });
});

describe('parseLine', () => {
  it('splits the type from the fields', () => {
    expect(parseLine('u temperature 21.50 x')).toMatchObject({ type: 'u', fields: ['temperature', '21.50', 'x'] });
  });
  it('rejects double spaces and leading or trailing spaces', () => {
    for (const l of ['u  a', ' u a', 'u a ']) expect(codeOf(() => parseLine(l))).toBe('E_MALFORMED');
  });
});

describe('parseSigned', () => {
  it('signs everything before " <hmac>"', () => {
    const s = parseSigned(parseLine(`u temperature 21.50 ${HMAC}`));
    expect(s.signedText).toBe('u temperature 21.50');
    expect(s.body).toEqual(['temperature', '21.50']);
    expect(s.hmac).toBe(HMAC);
  });
  it('rejects a missing or truncated HMAC', () => {
    expect(codeOf(() => parseSigned(parseLine('u temperature 21.50')))).toBe('E_MISSING_HMAC');
    expect(codeOf(() => parseSigned(parseLine(`u temperature 21.50 ${HMAC.slice(0, 40)}`)))).toBe('E_MISSING_HMAC');
    expect(codeOf(() => parseSigned(parseLine('u')))).toBe('E_MISSING_HMAC');
  });
});

describe('parseHello', () => {
  it('takes a safe client id', () => {
    expect(parseHello(parseLine('h greenhouse-2'))).toBe('greenhouse-2');
  });
  it('rejects path traversal and unsafe ids', () => {
    for (const id of ['../x', '.hidden', 'a/b', 'x'.repeat(65), 'a\\b']) {
      expect(codeOf(() => parseHello(parseLine(`h ${id}`)))).toBe('E_BAD_CLIENT_ID');
    }
  });
  it('rejects a hello with no id or extra fields', () => {
    expect(codeOf(() => parseHello(parseLine('h')))).toBe('E_MALFORMED');
    expect(codeOf(() => parseHello(parseLine('h a b')))).toBe('E_MALFORMED');
  });
  it('allows 64 characters', () => {
    expect(isValidClientId('a'.repeat(64))).toBe(true);
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

describe('parsePairs', () => {
  it('pairs keys and values', () => {
    expect(parsePairs(['temperature', '18.06', 'humidity', '54'])).toEqual([['temperature', 18.06], ['humidity', 54]]);
  });
  it('rejects an odd number of fields', () => {
    expect(codeOf(() => parsePairs(['temperature', '1', 'humidity']))).toBe('E_BAD_PAIRS');
    expect(codeOf(() => parsePairs([]))).toBe('E_BAD_PAIRS');
  });
  it('rejects a repeated key and an unsafe key', () => {
    expect(codeOf(() => parsePairs(['t', '1', 't', '2']))).toBe('E_BAD_PAIRS');
    expect(codeOf(() => parsePairs(['{t}', '1']))).toBe('E_BAD_PAIRS');
  });
});

describe('the edges of the line grammar', () => {
  it('strips one CR before the newline, and calls a line of only CR empty', () => {
    expect(decodeLine(Buffer.from('h a\r'))).toBe('h a');
    expect(codeOf(() => decodeLine(Buffer.from('\r')))).toBe('E_EMPTY_LINE');
    expect(codeOf(() => decodeLine(Buffer.from('')))).toBe('E_EMPTY_LINE');
  });

  it('takes an HMAC of exactly 64 lowercase hex characters, nothing around it', () => {
    const hex = 'a'.repeat(64);
    expect(parseSigned(parseLine(`u t 1 ${hex}`)).hmac).toBe(hex);
    for (const bad of [`x${hex}`, `${hex}0`, 'A'.repeat(64), 'a'.repeat(63)]) expect(codeOf(() => parseSigned(parseLine(`u t 1 ${bad}`))), bad).toBe('E_MISSING_HMAC');
  });

  it('takes keys that are names, nothing around them', () => {
    expect(parsePairs(['_t.2-x', '1'])).toEqual([['_t.2-x', 1]]);
    for (const bad of ['t!', '!t', '2t', `t${'x'.repeat(64)}`]) expect(codeOf(() => parsePairs([bad, '1'])), bad).toBe('E_BAD_PAIRS');
  });

  it('reads every decimal form a board prints, and nothing else', () => {
    for (const [text, value] of [['.5', 0.5], ['5.', 5], ['+1', 1], ['-0.25', -0.25], ['1e5', 1e5], ['2E-3', 0.002], ['1e+308', 1e308]] as const) expect(parseValue(text), text).toBe(value);
    for (const bad of ['.', '.e1', '1e', '1e1234', '0x10', '1_000', ' 1', '1.2.3']) expect(codeOf(() => parseValue(bad)), bad).toBe('E_BAD_VALUE');
  });
});
