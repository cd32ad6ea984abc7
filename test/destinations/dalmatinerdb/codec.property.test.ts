import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/errors.ts';
import { decodeGetReply, decodeListReply, decodePoint, encodePoint, pointSize, type Dialect } from '../../../src/destinations/dalmatinerdb/codec.ts';

const dialect = fc.constantFrom<Dialect>('doc', 'release');

/** A list reply as the server sends it: the total length, then `<<Len:16, Name>>` each. */
function listReply(d: Dialect, names: string[]): Buffer {
  const body = Buffer.concat(names.map((n) => {
    const b = Buffer.from(n, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  }));
  const head = Buffer.alloc(d === 'doc' ? 4 : 8);
  if (d === 'doc') head.writeUInt32BE(body.length);
  else head.writeBigUInt64BE(BigInt(body.length));
  return Buffer.concat([head, body]);
}

function onlyCodecErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
  }
}

describe('DalmatinerDB codec properties', () => {
  it('round-trips every integer point its dialect can carry, and refuses the rest with E_VALUE_RANGE', () => {
    fc.assert(
      fc.property(dialect, fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), (d, big) => {
        const bits = d === 'doc' ? 64n : 56n;
        const fits = big >= -(2n ** (bits - 1n)) && big < 2n ** (bits - 1n);
        const value = Number(big);
        if (!Number.isSafeInteger(value)) return; // the gateway's values are JS numbers
        if (fits) expect(decodePoint(d, encodePoint(d, value))).toBe(value);
        else expect(() => encodePoint(d, value)).toThrow(expect.objectContaining({ code: 'E_VALUE_RANGE' }));
      }),
    );
  });

  it('round-trips list replies, and refuses every truncation with a coded error', () => {
    fc.assert(
      fc.property(dialect, fc.array(fc.string({ maxLength: 20 }), { maxLength: 6 }), (d, names) => {
        const reply = listReply(d, names);
        expect(decodeListReply(d, reply)).toEqual(names);
        for (let i = 0; i < reply.length; i++) expect(() => decodeListReply(d, reply.subarray(0, i))).toThrow(CodecError);
      }),
    );
  });

  it('round-trips get replies of any length, and refuses a reply one byte short or long', () => {
    fc.assert(
      fc.property(dialect, fc.array(fc.option(fc.integer({ min: -1e12, max: 1e12 })), { maxLength: 20 }), (d, points) => {
        const body = Buffer.concat([Buffer.from('00000000000003e8', 'hex'), ...points.map((p) => encodePoint(d, p))]);
        expect(decodeGetReply(d, body, points.length)).toEqual({ resolution: 1000, points });
        expect(() => decodeGetReply(d, body.subarray(0, body.length - 1), points.length)).toThrow(CodecError);
        expect(() => decodeGetReply(d, Buffer.concat([body, Buffer.alloc(1)]), points.length)).toThrow(CodecError);
      }),
    );
  });

  it('random bytes never make a decoder throw anything but a CodecError', () => {
    fc.assert(
      fc.property(dialect, fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 8 }), (d, bytes, count) => {
        const b = Buffer.from(bytes);
        onlyCodecErrors(() => decodeListReply(d, b));
        onlyCodecErrors(() => decodeGetReply(d, b, count));
        if (b.length >= pointSize(d)) onlyCodecErrors(() => decodePoint(d, b.subarray(0, pointSize(d))));
      }),
      { numRuns: 2000 },
    );
  });
});
