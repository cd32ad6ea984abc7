import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/errors.ts';
import {
  decodeGetReply, decodeListReply, decodePoint, encodeFlush, encodeGet, encodeListBuckets, encodeListMetrics,
  encodePayload, encodePoint, encodeStreamInit, scaleValue, type Dialect,
} from '../../../src/destinations/dalmatinerdb/codec.ts';
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
