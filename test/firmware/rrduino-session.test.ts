import { describe, expect, it } from 'vitest';
import { KeyRatchet } from '../../src/protocol/key-ratchet.ts';
import { parseLine, parseSigned, parseUpdate } from '../../src/protocol/message.ts';
import { askTool, hostToolForFile } from '../helpers/firmware.ts';

// The firmware's RRDuino class (firmware/src/RRDuino.cpp) built for the host, over a scripted
// link and a fake clock (firmware-sim/host/session-tool.cpp); what it writes is checked with
// the gateway's own verifier.

const MATERIAL = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const MATERIAL2 = Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i));
const tool = hostToolForFile('session-tool');

/** Runs a script; returns the tool's answers, with each `sent` split into the lines written. */
async function script(commands: string[]): Promise<Array<{ kind: string; ok?: boolean; lines?: string[]; words?: string[] }>> {
  const out = await askTool(tool(), commands);
  return out
    .filter((l) => l !== '')
    .map((l) => {
      const [kind = '', ...rest] = l.split(' ');
      if (kind === 'sent') return { kind, ok: rest[0] === '1', lines: Buffer.from(rest[1] ?? '', 'hex').toString('latin1').split(/(?<=\n)/) };
      return { kind, ok: rest[0] === '1', words: rest };
    });
}

/** Verifies update lines as the gateway does, from one hello's key material. */
function verifier(material: Buffer): (line: string) => Map<string, number | null> {
  const ratchet = KeyRatchet.fromPreSharedKey('secret', material);
  return (line) => {
    expect(line.endsWith('\r\n')).toBe(true);
    const signed = parseSigned(parseLine(line.trimEnd()));
    expect(ratchet.verify(signed.signedText, signed.hmac)).toBe(0);
    return parseUpdate(signed.body).values;
  };
}

describe('RRDuino (the firmware library) on a scripted link', () => {
  it('on serial: says hello (no bare newline before it), then signs updates that the gateway verifies, the key advancing each time', async () => {
    const r = await script(['serial', `answer ${MATERIAL.toString('hex')}`, 'add temperature 21.5 2', 'addint adc 512', 'send', 'add temperature -3.25 2', 'send']);
    const [first, second] = r.filter((x) => x.kind === 'sent');
    expect(first?.ok).toBe(true);
    expect(first?.lines?.[0]).toBe('h board#1\r\n');
    const verify = verifier(MATERIAL);
    expect(verify(first?.lines?.[1] ?? '')).toEqual(new Map([['temperature', 21.5], ['adc', 512]]));
    expect(second?.lines).toHaveLength(1); // no new hello
    expect(verify(second?.lines?.[0] ?? '')).toEqual(new Map([['temperature', -3.25]]));
  });

  it('gives up a hello after 10 s without an answer, tries once more, and forgets the values', async () => {
    const r = await script(['serial', 'add temperature 1 2', 'send', 'stats', `answer ${MATERIAL.toString('hex')}`, 'add temperature 2 2', 'send']);
    const [failed, ok] = r.filter((x) => x.kind === 'sent');
    expect(failed?.ok).toBe(false);
    expect(failed?.lines?.filter((l) => l.startsWith('h '))).toHaveLength(2);
    expect(Number(r.find((x) => x.kind === 'stats')?.words?.[2])).toBeGreaterThanOrEqual(20_000);
    expect(ok?.ok).toBe(true);
    expect(verifier(MATERIAL)(ok?.lines?.at(-1) ?? '')).toEqual(new Map([['temperature', 2]]));
  });

  it('leaves out a pair that would make the line longer than 80 characters, whole, and sends the rest', async () => {
    const adds = Array.from({ length: 10 }, (_, i) => `add sensor_${i} ${i}.5 2`);
    const r = await script(['serial', `answer ${MATERIAL.toString('hex')}`, ...adds, 'send']);
    const added = r.filter((x) => x.kind === 'added').map((x) => x.ok);
    expect(added.slice(0, 5)).toEqual([true, true, true, true, true]);
    expect(added).toContain(false);
    const line = r.find((x) => x.kind === 'sent')?.lines?.at(-1) ?? '';
    expect(line.length - ' '.length - 64 - '\r\n'.length).toBeLessThanOrEqual(80);
    expect([...verifier(MATERIAL)(line).keys()]).toEqual(Array.from({ length: added.filter(Boolean).length }, (_, i) => `sensor_${i}`));
  });

  it('prints a reading that is not a number as nan, which the gateway stores as U', async () => {
    const r = await script(['serial', `answer ${MATERIAL.toString('hex')}`, 'add temperature nan 2', 'send']);
    const line = r.find((x) => x.kind === 'sent')?.lines?.at(-1) ?? '';
    expect(line.startsWith('u temperature nan ')).toBe(true);
    expect(verifier(MATERIAL)(line)).toEqual(new Map([['temperature', null]]));
  });

  it('on TCP: after the gateway closes the connection, reconnects and says hello again before the next update', async () => {
    const r = await script(['tcp', `answer ${MATERIAL.toString('hex')}`, 'add t 1 2', 'send', 'drop', `answer ${MATERIAL2.toString('hex')}`, 'add t 2 2', 'send', 'stats']);
    const [first, second] = r.filter((x) => x.kind === 'sent');
    expect(first?.lines?.[0]).toBe('h board#1\r\n'); // no bare newline on TCP
    expect(verifier(MATERIAL)(first?.lines?.[1] ?? '')).toEqual(new Map([['t', 1]]));
    expect(second?.lines?.[0]).toBe('h board#1\r\n');
    expect(verifier(MATERIAL2)(second?.lines?.[1] ?? '')).toEqual(new Map([['t', 2]]));
    expect(r.find((x) => x.kind === 'stats')?.words?.slice(0, 2)).toEqual(['2', '2']); // connects, handshakes
  });

  it('on TCP: a refused connection is not sent, and the next send connects', async () => {
    const r = await script(['tcp', 'refuse 2', 'add t 1 2', 'send', `answer ${MATERIAL.toString('hex')}`, 'add t 2 2', 'send', 'stats']);
    const [refused, ok] = r.filter((x) => x.kind === 'sent');
    expect(refused?.ok).toBe(false);
    expect(refused?.lines).toEqual(['']);
    expect(ok?.ok).toBe(true);
    expect(verifier(MATERIAL)(ok?.lines?.[1] ?? '')).toEqual(new Map([['t', 2]]));
  });

  it('says hello again after the re-hello interval, for serial boards that no port opening resets', async () => {
    const r = await script(['serial', 'rehello 60000', `answer ${MATERIAL.toString('hex')}`, 'add t 1 2', 'send', 'wait 30000', 'add t 2 2', 'send', 'wait 30000', `answer ${MATERIAL2.toString('hex')}`, 'add t 3 2', 'send']);
    const sent = r.filter((x) => x.kind === 'sent');
    expect(sent.map((x) => x.lines?.some((l) => l.startsWith('h ')))).toEqual([true, false, true]);
    expect(verifier(MATERIAL2)(sent[2]?.lines?.at(-1) ?? '')).toEqual(new Map([['t', 3]]));
  });
});
