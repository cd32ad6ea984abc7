import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/errors.ts';
import {
  decodeGetReply, decodeListReply, decodePoint, encodeFlush, encodeGet, encodeListBuckets, encodeListMetrics,
  encodePayload, encodePoint, encodeStreamInit, scaleValue, type Dialect,
} from '../../../src/destinations/dalmatinerdb/codec.ts';
import { codeOf } from '../../helpers/error-code.ts';
import { loadKat } from '../../helpers/repo.ts';

interface Case {
  name: string;
  dialect: Dialect;
  hex: string;
  value?: number | null;
  bucket?: string;
  max_delay?: number;
  metric?: string;
  metric_parts?: string[];
  time?: number;
  points?: Array<number | null>;
  count?: number;
  names?: string[];
}

const kat = loadKat<{ cases: Case[] }>('dalmatinerdb-kat.json');

/** Encodes a KAT case with our codec; undefined for a case kind this function does not know. */
function encodeCase(c: Case): Buffer | undefined {
  const n = c.name;
  if (n.startsWith('point float')) return encodePoint(c.dialect, c.value ?? null, true);
  if (n.startsWith('point')) return encodePoint(c.dialect, c.value ?? null);
  if (n.startsWith('stream init')) return encodeStreamInit(c.dialect, c.bucket as string, c.max_delay as number);
  if (n === 'flush') return encodeFlush(c.dialect);
  if (n.startsWith('payload')) {
    const pts = (c.points ?? []).map((p) => encodePoint(c.dialect, p));
    return encodePayload(c.dialect, c.metric_parts ?? (c.metric as string), c.time as number, pts);
  }
  if (n.startsWith('list buckets')) return encodeListBuckets();
  if (n.startsWith('list metrics')) return encodeListMetrics(c.bucket as string);
  if (n.startsWith('get')) return encodeGet(c.bucket as string, c.metric as string, c.time as number, c.count as number);
  return undefined;
}

describe('dalmatinerdb-kat.json', () => {
  for (const c of kat.cases) {
    it(`${c.dialect}: ${c.name}`, () => {
      if (c.name.startsWith('list reply')) {
        expect(decodeListReply(c.dialect, Buffer.from(c.hex, 'hex'))).toEqual(c.names);
        return;
      }
      const encoded = encodeCase(c);
      expect(encoded, `no encoder for ${c.name}`).toBeDefined();
      expect(encoded?.toString('hex')).toBe(c.hex);
      if (c.name.startsWith('point')) expect(decodePoint(c.dialect, Buffer.from(c.hex, 'hex'))).toBe(c.value);
    });
  }
});

describe('DalmatinerDB decoders', () => {
  const reply = Buffer.from('0000000700026162000163', 'hex');

  it('decode a list reply fed whole, and reject every truncation of it', () => {
    expect(decodeListReply('doc', reply)).toEqual(['ab', 'c']);
    for (let i = 0; i < reply.length; i++) expect(() => decodeListReply('doc', reply.subarray(0, i))).toThrow(CodecError);
  });

  it('reject a list reply with bytes after its end', () => {
    expect(() => decodeListReply('doc', Buffer.concat([reply, Buffer.from([0])]))).toThrow(/after its end/);
  });

  it('decode a get reply with resolution and blanks', () => {
    const body = Buffer.concat([Buffer.from('00000000000003e8', 'hex'), encodePoint('doc', 5), encodePoint('doc', null), encodePoint('doc', -7)]);
    expect(decodeGetReply('doc', body, 3)).toEqual({ resolution: 1000, points: [5, null, -7] });
    expect(() => decodeGetReply('doc', body.subarray(0, body.length - 1), 3)).toThrow(CodecError);
  });

  it('never wraps a value out of range', () => {
    expect(() => encodePoint('release', 2 ** 55)).toThrow(/56-bit/);
    expect(() => encodePoint('doc', 2 ** 64)).toThrow(/64-bit/);
    expect(() => encodePoint('doc', 1.5)).toThrow(/scale/);
  });

  it('scales readings to hundredths and U to unset', () => {
    expect(scaleValue(21.5, 100)).toBe(2150);
    expect(scaleValue(-3.255, 100)).toBe(-325);
    expect(scaleValue(null, 100)).toBeNull();
  });
});

describe('DalmatinerDB codec boundaries and error codes', () => {
  const code = codeOf;

  it('carries exactly the 64-bit range in doc points and the 56-bit range in release points', () => {
    expect(decodePoint('doc', encodePoint('doc', -(2 ** 63)))).toBe(-(2 ** 63));
    expect(decodePoint('doc', encodePoint('doc', 2 ** 63 - 1024))).toBe(2 ** 63 - 1024);
    expect(code(() => encodePoint('doc', 2 ** 63))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePoint('doc', -(2 ** 63) - 2048))).toBe('E_VALUE_RANGE');
    expect(decodePoint('release', encodePoint('release', -(2 ** 55)))).toBe(-(2 ** 55));
    expect(decodePoint('release', encodePoint('release', 2 ** 55 - 8))).toBe(2 ** 55 - 8);
    expect(code(() => encodePoint('release', 2 ** 55))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePoint('release', -(2 ** 55) - 8))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePoint('doc', 1.5))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePoint('doc', 1.5, true))).toBe('E_CODEC'); // floats exist only in release
  });

  it('refuses points of the wrong size or with an unknown tag', () => {
    expect(code(() => decodePoint('doc', Buffer.alloc(8)))).toBe('E_FRAME_TRUNCATED');
    expect(code(() => decodePoint('doc', Buffer.from('020000000000000001', 'hex')))).toBe('E_CODEC');
    expect(code(() => decodePoint('release', Buffer.from('0200000000000001', 'hex')))).toBe('E_CODEC');
  });

  it('takes a max delay of 0 to 255 seconds, whole', () => {
    for (const ok of [0, 255]) expect(code(() => encodeStreamInit('doc', 'b', ok))).toBeUndefined();
    for (const bad of [-1, 256, 1.5]) expect(code(() => encodeStreamInit('doc', 'b', bad))).toBe('E_VALUE_RANGE');
  });

  it('takes buckets and metric parts of 1 to 255 bytes, names and data up to 65,535 bytes', () => {
    expect(code(() => encodeStreamInit('doc', '', 1))).toBe('E_VALUE_RANGE');
    expect(code(() => encodeStreamInit('release', 'x'.repeat(255), 1))).toBeUndefined();
    expect(code(() => encodeStreamInit('release', 'x'.repeat(256), 1))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePayload('release', ['x'.repeat(255)], 1, []))).toBeUndefined();
    expect(code(() => encodePayload('release', ['x'.repeat(256)], 1, []))).toBe('E_VALUE_RANGE');
    expect(code(() => encodePayload('doc', 'x'.repeat(0xffff), 1, []))).toBeUndefined();
    expect(code(() => encodePayload('doc', 'x'.repeat(0x10000), 1, []))).toBe('E_VALUE_RANGE');
    const point = encodePoint('doc', 1);
    expect(code(() => encodePayload('doc', 'm', 1, Array.from({ length: 7281 }, () => point)))).toBeUndefined(); // 65,529 bytes
    expect(code(() => encodePayload('doc', 'm', 1, Array.from({ length: 7282 }, () => point)))).toBe('E_VALUE_RANGE');
  });

  it('says a reply cut short is truncated, and one too long is garbage', () => {
    const body = Buffer.concat([Buffer.from('00000000000003e8', 'hex'), encodePoint('doc', 5)]);
    expect(code(() => decodeGetReply('doc', body.subarray(0, body.length - 1), 1))).toBe('E_FRAME_TRUNCATED');
    expect(code(() => decodeGetReply('doc', Buffer.concat([body, Buffer.alloc(9)]), 1))).toBe('E_CODEC');
    expect(code(() => decodeListReply('doc', Buffer.from('00000003000161', 'hex')))).toBeUndefined();
    expect(code(() => decodeListReply('doc', Buffer.from('00000004000161', 'hex')))).toBe('E_FRAME_TRUNCATED'); // shorter than its total
    expect(code(() => decodeListReply('doc', Buffer.from('0000000300016100', 'hex')))).toBe('E_CODEC'); // a byte after its end
    expect(code(() => decodeListReply('doc', Buffer.from('00000003000561', 'hex')))).toBe('E_FRAME_TRUNCATED'); // a name longer than the reply
    expect(code(() => decodeListReply('doc', Buffer.from('0000000100', 'hex')))).toBe('E_FRAME_TRUNCATED'); // half a length
  });
});
