import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodePickle, framePickle } from '../../../src/destinations/graphite/pickle.ts';
import { encodePlaintext, type GraphitePoint } from '../../../src/destinations/graphite/plaintext.ts';
import { metricPath } from '../../../src/destinations/graphite/metric-name.ts';
import { loadKat } from '../../helpers/repo.ts';

interface GraphiteKat {
  metrics: Array<[string, [number, number]]>;
  payload_hex: string;
  message_hex: string;
  plaintext: string;
}

const kat = loadKat<GraphiteKat>('graphite-kat.json');
const katPoints: GraphitePoint[] = kat.metrics.map(([path, [ts, v]]) => [path, ts, v]);

/** CPython's own pickle.dumps(..., protocol=2) of the same list, for cases beyond the KAT. */
function cpython(points: readonly GraphitePoint[]): string {
  const literal = JSON.stringify(points.map(([p, t, v]) => [p, t, v]));
  // An integer past 2^53 is a double on the gateway's side, so a float on CPython's too.
  const code = `import json,pickle,sys\npts=json.loads(sys.argv[1])\nprint(pickle.dumps([(p,(t,float(v) if isinstance(v,int) and abs(v)>2**53-1 else v)) for p,t,v in pts],protocol=2).hex())`;
  return execFileSync('/usr/bin/python3', ['-c', code, literal]).toString().trim();
}

describe('graphite-kat.json', () => {
  it('reproduces the pickle payload byte for byte', () => {
    expect(encodePickle(katPoints).toString('hex')).toBe(kat.payload_hex);
  });
  it('reproduces the framed message byte for byte', () => {
    expect(framePickle(encodePickle(katPoints)).toString('hex')).toBe(kat.message_hex);
  });
  it('reproduces the plaintext lines', () => {
    expect(encodePlaintext(katPoints)).toBe(kat.plaintext);
  });
});

describe('encodePickle matches CPython', () => {
  it('for one point (APPEND, not MARK…APPENDS)', () => {
    const pts: GraphitePoint[] = [['a.b', 1700000000, 1.25]];
    expect(encodePickle(pts).toString('hex')).toBe(cpython(pts));
  });
  it('for 500 points (memo past 255: LONG_BINPUT), every int width, and integral doubles past 2^53 as floats', () => {
    const values = [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2147483648, -2147483649, 2 ** 53 - 1, 0.1, -3.25, 2 ** 53, 1e20];
    const pts: GraphitePoint[] = Array.from({ length: 500 }, (_, i) => [`rrduino.b${i}.t`, 1700000000 + i, values[i % values.length] as number]);
    expect(encodePickle(pts).toString('hex')).toBe(cpython(pts));
  });
  it('for 1001 points (two MARK…APPENDS batches, the second of one item)', () => {
    const pts: GraphitePoint[] = Array.from({ length: 1001 }, (_, i) => [`x.${i}`, i, i / 2]);
    expect(encodePickle(pts).toString('hex')).toBe(cpython(pts));
  });
  it('refuses a frame over 1 MiB, and takes one of exactly 1 MiB', () => {
    expect(() => framePickle(Buffer.alloc((1 << 20) + 1))).toThrow(/1 MiB/);
    expect(framePickle(Buffer.alloc(1 << 20))).toHaveLength((1 << 20) + 4);
  });
  it('refuses a value that is not finite (never sent: boards send finite numbers or U)', () => {
    expect(() => encodePickle([['a.b', 1, Number.POSITIVE_INFINITY]])).toThrow(expect.objectContaining({ code: 'E_CODEC' }));
  });
});

describe('metricPath', () => {
  it('joins prefix, board and source', () => {
    expect(metricPath({ prefix: 'boards', clientId: 'greenhouse-2', source: 'temperature' })).toBe('boards.greenhouse-2.temperature');
  });
  it('leaves out an empty prefix rather than starting with a dot', () => {
    expect(metricPath({ prefix: '', clientId: 'b', source: 't' })).toBe('b.t');
  });
  it('puts the Hosted Graphite API key first', () => {
    expect(metricPath({ apiKey: 'abc-123', prefix: 'rrduino', clientId: 'b', source: 't' })).toBe('abc-123.rrduino.b.t');
  });
  it('replaces separators and line breakers with _', () => {
    expect(metricPath({ prefix: 'p q', clientId: 'b', source: 't\n1/2' })).toBe('p_q.b.t_1_2');
  });
});
