import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sanitize } from '../../../src/destinations/graphite/metric-name.ts';
import { encodePickle, framePickle } from '../../../src/destinations/graphite/pickle.ts';
import { encodePlaintext, type GraphitePoint } from '../../../src/destinations/graphite/plaintext.ts';

const point: fc.Arbitrary<GraphitePoint> = fc.tuple(
  fc.string({ minLength: 1, maxLength: 30 }).map((s) => `boards.${sanitize(s)}.t`),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Object.is(v, -0))),
);

describe('Graphite codec properties', () => {
  it('writes the bytes CPython pickle.dumps(…, protocol=2) writes, for lists of any length and any values', { timeout: 60_000 }, () => {
    const cases = fc.sample(fc.array(point, { maxLength: 40 }), 150);
    cases.push(fc.sample(point, 1001)); // a second MARK…APPENDS batch, memo indices past 255
    // One CPython for all cases: the reference pickler, and its unpickler reading ours back.
    // A value is a Python int where the gateway holds an exact integer (a safe one), else a float.
    const script = [
      'import json, pickle, sys',
      'out = []',
      'for case, ours in json.load(sys.stdin):',
      '    pts = [(p, (t, int(v) if float(v).is_integer() and abs(v) <= 2**53 - 1 else float(v))) for p, t, v in case]',
      '    out.append([pickle.dumps(pts, protocol=2).hex(), pickle.loads(bytes.fromhex(ours)) == pts])',
      'print(json.dumps(out))',
    ].join('\n');
    const input = JSON.stringify(cases.map((c) => [c, encodePickle(c).toString('hex')]));
    const answers = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input, maxBuffer: 64 << 20 }).toString()) as Array<[string, boolean]>;
    answers.forEach(([cpython, readBack], i) => {
      expect(encodePickle(cases[i] as GraphitePoint[]).toString('hex'), `case ${i}`).toBe(cpython);
      expect(readBack, `case ${i}`).toBe(true);
    });
  });

  it('frames a pickle with its length, and refuses one over 1 MiB with E_FRAME_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const framed = framePickle(Buffer.from(bytes));
        expect(framed.readUInt32BE(0)).toBe(bytes.length);
        expect(framed.subarray(4)).toEqual(Buffer.from(bytes));
      }),
    );
    expect(() => framePickle(Buffer.alloc((1 << 20) + 1))).toThrow(expect.objectContaining({ code: 'E_FRAME_TOO_LARGE' }));
  });

  it('plaintext lines read back to the same path, value and time', () => {
    fc.assert(
      fc.property(fc.array(point, { maxLength: 20 }), (points) => {
        const lines = encodePlaintext(points).split('\n');
        expect(lines.pop()).toBe('');
        expect(lines.map((l) => l.split(' ')).map(([p, v, t]) => [p, Number(t), Number(v)])).toEqual(points.map((p) => [...p]));
      }),
    );
  });
});
