import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/link.ts';
import { LineParser } from '../../src/transport/line-parser.ts';

async function frames(chunks: Buffer[], maxLineLength = 64): Promise<string[]> {
  const out: string[] = []; // a line's text, or the kind of a frame that is not a line
  const parser = new LineParser({ maxLineLength }, (f: Frame) => out.push(f.kind === 'line' ? f.bytes.toString('latin1') : f.kind));
  for (const c of chunks) parser.write(c);
  parser.end();
  return out;
}

function splitAt(b: Buffer, i: number): Buffer[] {
  return [b.subarray(0, i), b.subarray(i)];
}

const input = Buffer.from('h example\nu temperature 21.50 abc\r\nu x 1 y\n');
const expected = ['h example', 'u temperature 21.50 abc\r', 'u x 1 y'];

describe('LineParser', () => {
  it('splits a whole chunk into lines (the CR is left for decodeLine)', async () => {
    expect(await frames([input])).toEqual(expected);
  });

  it('gives the same lines for a split at every offset', async () => {
    for (let i = 0; i <= input.length; i++) expect(await frames(splitAt(input, i))).toEqual(expected);
  });

  it('gives the same lines one byte at a time', async () => {
    expect(await frames([...input].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('reports an over-long line once and drops its tail', async () => {
    const long = Buffer.from(`${'x'.repeat(100)}\nh ok\n`);
    expect(await frames([long])).toEqual(['overflow', 'h ok']);
    expect(await frames([...long].map((b) => Buffer.from([b])))).toEqual(['overflow', 'h ok']);
  });

  it('reports 1 MiB with no newline as overflow without buffering it', async () => {
    const kinds: string[] = [];
    const parser = new LineParser({ maxLineLength: 1024 }, (f: Frame) => kinds.push(f.kind));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 16; i++) {
      parser.write(chunk);
      expect(parser.buffered).toBeLessThanOrEqual(1024);
    }
    expect(kinds).toEqual(['overflow']);
  });

  it('accepts a line of exactly the limit', async () => {
    expect(await frames([Buffer.from(`${'y'.repeat(64)}\n`)])).toEqual(['y'.repeat(64)]);
  });

  it('reports leftover bytes at end of stream as truncated', async () => {
    expect(await frames([Buffer.from('h a\nu t 1')])).toEqual(['h a', 'truncated']);
  });

  it('passes NUL and 0xff bytes through inside a line', async () => {
    const got: Buffer[] = [];
    const parser = new LineParser({}, (f: Frame) => f.kind === 'line' && got.push(f.bytes));
    parser.write(Buffer.from([0x00, 0xff, 0x11, 0x0a]));
    expect(got[0]).toEqual(Buffer.from([0x00, 0xff, 0x11]));
  });

  it('keeps nothing of a read once its lines are complete, and its own copy of a line not yet ended', () => {
    const got: string[] = [];
    const parser = new LineParser({}, (f: Frame) => f.kind === 'line' && got.push(f.bytes.toString('latin1')));
    parser.write(Buffer.from('h a\n'));
    expect(parser.buffered).toBe(0);
    const read = Buffer.from('u t 1\nu t');
    parser.write(read);
    expect(parser.buffered).toBe(3);
    read.fill(0x78); // the transport's buffer, reused or freed: the held start must not change with it
    parser.write(Buffer.from(' 2\n'));
    expect(got).toEqual(['h a', 'u t 1', 'u t 2']);
    expect(parser.buffered).toBe(0);
  });

  it('refuses a limit outside 16..1 MiB', () => {
    expect(() => new LineParser({ maxLineLength: 8 }, () => undefined)).toThrow(/maxLineLength/);
  });
});
