import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/link.ts';
import { LineParser } from '../../src/transport/line-parser.ts';

/** What the parser emits for these chunks: a line's text, or the kind of a frame that is not a line. */
function frames(chunks: Buffer[], maxLineLength: number): string[] {
  const out: string[] = [];
  const parser = new LineParser({ maxLineLength }, (f: Frame) => out.push(f.kind === 'line' ? f.bytes.toString('latin1') : f.kind));
  for (const c of chunks) parser.write(c);
  parser.end();
  return out;
}

/** `input` cut at the given offsets. */
function cut(input: Buffer, offsets: number[]): Buffer[] {
  const at = [...new Set(offsets.map((o) => o % (input.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const o of at) {
    parts.push(input.subarray(from, o));
    from = o;
  }
  parts.push(input.subarray(from));
  return parts;
}

const lineBytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.filter((b) => b !== 0x0a)));

describe('LineParser properties', () => {
  it('gives the same frames for any split of the input, and byte by byte', () => {
    fc.assert(
      fc.property(fc.array(lineBytes, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 16, max: 32 }), (lines, offsets, max) => {
        const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
        const whole = frames([input], max);
        expect(frames(cut(input, offsets), max)).toEqual(whole);
        expect(frames([...input].map((b) => Buffer.from([b])), max)).toEqual(whole);
      }),
    );
  });

  it('passes every line up to the limit through unchanged, and reports each longer one as an overflow', () => {
    fc.assert(
      fc.property(fc.array(lineBytes, { minLength: 1, maxLength: 10 }), (lines) => {
        const out = frames([Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))], 24);
        expect(out).toEqual(lines.map((l) => (l.length > 24 ? 'overflow' : l.toString('latin1'))));
      }),
    );
  });
});
