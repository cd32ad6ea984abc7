import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.ts';
import { decodeLine, formatSignedLine, helloClientId, parseLine, parseSigned, parseUpdate, parseValue } from '../../src/protocol/message.ts';

/** Runs `f`; anything it throws must be a GatewayError with a code. */
function onlyCodedErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toMatch(/^E_[A-Z_]+$/);
  }
}

/** What reaches an rrdtool command: finite numbers and U (null), nothing else. */
function expectOnlyNumbersOrU(values: ReadonlyMap<string, number | null>): void {
  for (const v of values.values()) expect(v === null || Number.isFinite(v)).toBe(true);
}

describe('line parsing on random input', () => {
  it('random bytes never make the parsers throw anything but a coded error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        onlyCodedErrors(() => {
          if (helloClientId(Buffer.from(bytes)) !== undefined) return;
          expectOnlyNumbersOrU(parseUpdate(parseSigned(parseLine(decodeLine(Buffer.from(bytes)))).body).values);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('random printable lines, too (they get further into the parsers)', () => {
    const field = fc.stringMatching(/^[ -~]{0,12}$/);
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        onlyCodedErrors(() => {
          const raw = parseLine(decodeLine(Buffer.from(fields.join(' '), 'latin1')));
          expectOnlyNumbersOrU(parseUpdate(raw.fields).values);
          parseSigned(raw);
        });
        for (const f of fields) onlyCodedErrors(() => parseValue(f));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back the pairs and HMAC of any well-formed signed update', () => {
    const key = fc.stringMatching(/^[!-~]{1,20}$/);
    const value = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }).map((n) => ({ text: String(n), value: n })), fc.constant({ text: 'U', value: null }));
    const hmac = fc.stringMatching(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { minLength: 1, maxLength: 6, selector: ([k]) => k }), hmac, (pairs, mac) => {
        const signedText = `u ${pairs.map(([k, v]) => `${k} ${v.text}`).join(' ')}`;
        const line = formatSignedLine(signedText, mac);
        const signed = parseSigned(parseLine(decodeLine(Buffer.from(line.slice(0, -1), 'latin1'))));
        expect(signed.signedText).toBe(signedText);
        expect(signed.hmac).toBe(mac);
        const parsed = parseUpdate(signed.body);
        expect([...parsed.values]).toEqual(pairs.map(([k, v]) => [k, v.value]));
        expect(parsed.warnings).toEqual([]);
      }),
    );
  });
});
