import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type SessionLink } from '../src/board-session.ts';
import { Gateway } from '../src/gateway.ts';
import type { Frame } from '../src/transport/line-parser.ts';
import { memoryLogger, rrduinoProfile, tempDir, waitFor, writeProfileFile } from './helpers/fixtures.ts';

/** A link a test drives by hand: what the session wrote, whether it hung up. */
function fakeLink(transport: 'tcp' | 'serial' = 'tcp'): SessionLink & { written: Buffer[]; hungUp: boolean; verifiedCalls: number } {
  return {
    transport,
    remote: '192.0.2.7:4000',
    written: [],
    hungUp: false,
    verifiedCalls: 0,
    write(b) {
      this.written.push(b);
    },
    hangUp() {
      this.hungUp = true;
    },
    pause() {},
    resume() {},
    verified() {
      this.verifiedCalls++;
    },
  };
}

const line = (text: string): Frame => ({ kind: 'line', bytes: Buffer.from(text) });

let dir: string;
let cleanup: () => Promise<void>;
let gateway: Gateway;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeProfileFile(join(dir, 'profiles'), 'example', rrduinoProfile());
  gateway = new Gateway({ profilesDir: join(dir, 'profiles'), dataDir: join(dir, 'data'), logger: memoryLogger().logger });
});
afterEach(async () => {
  await gateway.close();
  await cleanup();
});

describe('BoardSession hellos', () => {
  it('writes the 32 bytes at once, before the profile is read', () => {
    const link = fakeLink();
    const session = gateway.openSession(link, DEFAULT_LIMITS);
    session.onFrame(line('h example'));
    expect(link.written).toHaveLength(1); // synchronously: no file read or key derivation came first
    expect(link.written[0]).toHaveLength(32);
  });

  it('does not let repeated hellos keep an unverified TCP connection open past the handshake limit', async () => {
    const link = fakeLink();
    const session = gateway.openSession(link, { ...DEFAULT_LIMITS, handshakeTimeoutMs: 300 });
    const started = Date.now();
    let i = 0;
    const again = setInterval(() => session.onFrame(line(`h zz${i++}`)), 50);
    try {
      await waitFor(() => link.hungUp, 2000, 'hang-up at the handshake limit');
    } finally {
      clearInterval(again);
    }
    expect(Date.now() - started).toBeLessThan(700);
    expect(link.written.length).toBeGreaterThan(3); // every hello was answered meanwhile
  });

  it('on serial, where nothing hangs up, each hello starts its own handshake', async () => {
    const link = fakeLink('serial');
    const session = gateway.openSession(link, { ...DEFAULT_LIMITS, handshakeTimeoutMs: 200 });
    session.onFrame(line('h example'));
    await new Promise((r) => setTimeout(r, 150));
    session.onFrame(line('h example'));
    await new Promise((r) => setTimeout(r, 120));
    expect(gateway.stats.get('errors.E_HANDSHAKE_TIMEOUT')).toBe(0); // 270 ms after the first hello, 120 after the second
  });
});
