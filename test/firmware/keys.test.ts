import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { askTool, hostToolForFile } from '../helpers/firmware.ts';
import { loadKat } from '../helpers/repo.ts';

// The firmware's own SHA-256, HMAC-SHA256 and key schedule (firmware/src), built for the
// host with g++, against the known answers and against Node's crypto.

interface Kat {
  rounds: number;
  cases: Array<{
    name: string;
    pre_shared_key: string;
    master_key_hex: string;
    key_material_hex: string;
    first_session_key_hex: string;
    messages: Array<{ session_key_hex: string; signed_text: string; hmac: string }>;
    session_key_after_last_hex: string;
  }>;
}

const hex = (text: string): string => Buffer.from(text, 'latin1').toString('hex');
const tool = hostToolForFile('kat-tool');

describe('firmware key schedule (host build)', () => {
  const kat = loadKat<Kat>('rrduino-kat.json');
  for (const c of kat.cases) {
    it(`reproduces the known answers of ${c.name}`, async () => {
      const commands = [`master ${hex(c.pre_shared_key)}`, `session ${c.master_key_hex} ${c.key_material_hex}`];
      const keys = [...c.messages.map((m) => m.session_key_hex), c.session_key_after_last_hex];
      c.messages.forEach((m, i) => {
        commands.push(`sign ${m.session_key_hex} ${hex(m.signed_text)}`, `advance ${c.master_key_hex} ${keys[i]}`);
      });
      const out = await askTool(tool(), commands);
      const expected = [c.master_key_hex, c.first_session_key_hex];
      c.messages.forEach((m, i) => expected.push(m.hmac, keys[i + 1] as string));
      expect(out).toEqual(expected);
    });
  }

  it('hashes like SHA-256 at every length around the block and padding edges, and the FIPS 180-4 examples', async () => {
    const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4097];
    const inputs = [...lengths.map((n) => Buffer.alloc(n, 0x61 + (n % 26))), Buffer.from('abc'), Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')];
    const out = await askTool(tool(), inputs.map((b) => `sha256 ${b.toString('hex')}`));
    expect(out).toEqual(inputs.map((b) => createHash('sha256').update(b).digest('hex')));
    expect(out.at(-2)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('computes HMAC-SHA256 as RFC 2104 for any key up to a block and any message', async () => {
    const cases = fc.sample(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 300 })), { numRuns: 300, seed: 11 });
    const out = await askTool(tool(), cases.map(([k, m]) => `hmac ${Buffer.from(k).toString('hex')} ${Buffer.from(m).toString('hex')}`));
    expect(out).toEqual(cases.map(([k, m]) => createHmac('sha256', k).update(m).digest('hex')));
  });

  it('derives the master key from any pre-shared key, short ones and the original default "secret" too', async () => {
    const keys = ['secret', 'x', 'k'.repeat(64), 'with spaces and "quotes" \\ '];
    const out = await askTool(tool(), keys.map((k) => `master ${hex(k)}`));
    expect(out).toEqual(keys.map((k) => createHash('sha256').update(k, 'latin1').digest('hex')));
  });
});
