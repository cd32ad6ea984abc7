import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, rrduinoProfile, stopProcess, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { SERVER_JS } from '../helpers/spec.ts';

let gateway: ChildProcess;
let port: number;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir('rrduino-timing-');
  cleanup = t.cleanup;
  await writeProfileFile(join(t.dir, 'profiles'), 'example', rrduinoProfile());
  port = await freePort();
  // A real gateway process, as a board or an attacker meets it: its own event loop and clock.
  gateway = spawn(process.execPath, [SERVER_JS, 'serve', '--host', '127.0.0.1', '--port', String(port), '--profiles', join(t.dir, 'profiles'), '--data', join(t.dir, 'data'), '--log-level', 'error'], { stdio: 'ignore' });
  await waitFor(async () => RawClient.open(port).then((c) => (c.destroy(), true), () => false), 15_000, 'gateway up');
});
afterAll(async () => {
  await stopProcess(gateway);
  await cleanup();
});

/** Microseconds from writing `h <id>` on an open connection to holding all 32 bytes. */
function timeHello(id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      let got = 0;
      const t0 = process.hrtime.bigint();
      s.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= 32) {
          resolve(Number(process.hrtime.bigint() - t0) / 1000);
          s.destroy();
        }
      });
      s.write(`h ${id}\n`);
    });
    s.on('error', reject);
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

describe('hello timing', () => {
  it('answers a known and an unknown client id equally fast (medians within 10 % over 500 tries each)', { timeout: 60_000 }, async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 20; i++) await timeHello(i % 2 ? 'example' : 'nobody'); // warm-up
    for (let i = 0; i < 1000; i++) {
      // Alternating, with a pause so the known id's key derivation (after its answer) is over before the next try.
      if (i % 2 === 0) known.push(await timeHello('example'));
      else unknown.push(await timeHello('nobody'));
      await new Promise((r) => setTimeout(r, 3));
    }
    const k = median(known);
    const u = median(unknown);
    expect(Math.abs(k - u) / Math.min(k, u), `median known ${k.toFixed(0)} µs, unknown ${u.toFixed(0)} µs`).toBeLessThanOrEqual(0.1);
  });
});
