import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Carbon } from '../helpers/carbon.ts';
import { accounting } from '../helpers/faulty-fs.ts';
import { freePort, stopProcess, tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarnessWithDestinations, type Harness } from '../helpers/gateway-harness.ts';
import { DalmatinerReceiver } from '../helpers/receivers.ts';
import { spawnGateway, writeGatewayConfig } from '../helpers/gateway-process.ts';
import { canMount, Tmpfs } from '../helpers/tmpfs.ts';

// Faults one at a time, against the real parts; every check is made where the readings
// end up (whisper files, the DalmatinerDB store), and on the accounting identity.

let dir: string;
let cleanupDir: () => Promise<void>;
let carbon: Carbon;
let h: Harness | undefined;
const mounts: Tmpfs[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  ({ dir, cleanup: cleanupDir } = await tempDir('rrduino-faults-'));
  carbon = new Carbon(join(dir, 'carbon'));
});
// Generous: each real part must be stopped even when the test before timed out.
afterEach(async () => {
  for (const c of children.splice(0)) await stopProcess(c, 'SIGKILL');
  await h?.close();
  h = undefined;
  await carbon.stop();
  for (const m of mounts.splice(0)) await m.unmount();
  await cleanupDir();
}, 60_000);

const fast = { retryMinMs: 100, retryMaxMs: 300 };

/** `serve --config`, as users run it; stopped after the test. */
async function serve(config: string, port: number): Promise<ChildProcess> {
  const child = await spawnGateway(['serve', '--config', config], port);
  children.push(child);
  return child;
}

/** Sends `n` readings (temperature i/100, humidity 50) and waits until the gateway took them all. */
async function sendReadings(g: Harness, n: number, from = 0): Promise<void> {
  const { c, board } = await helloBoard(g.port);
  const before = g.readings.length;
  for (let i = from; i < from + n; i++) c.send(board.updateLine({ temperature: i / 100, humidity: { int: 50 } }));
  await waitFor(() => g.readings.length === before + n, 20_000, `${n} readings`);
  c.destroy();
}

/** The accounting identity holds, and no error reached a catch-all (E_INTERNAL is a bug). */
function expectAccounted(g: Harness, name: string): void {
  const a = accounting(g.backend.stats, name);
  expect(a.accounted, `queued = sent + rejected + dropped + memory + spool_pending for ${name}`).toBe(a.queued);
  expect(g.logs.lines.filter((l) => l['code'] === 'E_INTERNAL')).toEqual([]);
}

describe.skipIf(!canMount)('spool on a disk that fills up or turns read-only (real tmpfs)', () => {
  it('keeps readings in memory when the spool disk is full, and delivers every one once carbon is back', { timeout: 90_000 }, async () => {
    const root = join(dir, 'gw');
    mounts.push(await Tmpfs.mount(root, 64));
    await carbon.start();
    const linePort = carbon.linePort;
    await carbon.stop();
    h = await startHarnessWithDestinations([{ type: 'graphite', name: 'carbon', address: `127.0.0.1:${linePort}`, protocol: 'plaintext', prefix: 'f', ...fast }], root, 1800);
    await sendReadings(h, 1500);
    expect(h.logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'ENOSPC')).toBe(true);
    expect(h.backend.stats.get('dest.carbon.dropped')).toBe(0);
    expect(h.backend.stats.get('dest.carbon.memory')).toBeGreaterThan(0);
    expectAccounted(h, 'carbon');
    await carbon.start();
    const temps = await carbon.waitForPoints('f.example.temperature', 1500, 60_000);
    expect(temps.map(([, v]) => v)).toEqual(Array.from({ length: 1500 }, (_, i) => i / 100));
    expect(await carbon.waitForPoints('f.example.humidity', 1500, 10_000)).toHaveLength(1500);
    await waitFor(() => h?.backend.stats.get('dest.carbon.sent') === 3000, 10_000, 'every point sent');
    expectAccounted(h, 'carbon');
  });

  it('delivers spooled readings when the spool turned read-only, without crashing, and leaves nothing to send again once the disk works before the stop', { timeout: 60_000 }, async () => {
    const root = join(dir, 'gw');
    const disk = await Tmpfs.mount(root, 4096);
    mounts.push(disk);
    await carbon.start(); // to learn its ports; it is down until the spool is read-only
    await carbon.stop();
    // Pickle sends 500 points a batch, so the 600 spooled points are delivered in two parts
    // and the first records a partial delivery on the read-only disk.
    // No resend window: a batch is delivered once written, so what the restart may send is exact.
    h = await startHarnessWithDestinations([{ type: 'graphite', name: 'carbon', address: `127.0.0.1:${carbon.picklePort}`, protocol: 'pickle', prefix: 'ro', resendWindowMs: 0, ...fast }], root);
    await sendReadings(h, 300);
    await waitFor(() => h?.backend.stats.get('dest.carbon.spool_pending') === 600, 5000, 'all points spooled');
    await disk.readOnly();
    await carbon.start();
    const temps = await carbon.waitForPoints('ro.example.temperature', 300, 30_000);
    expect(temps.map(([, v]) => v)).toEqual(Array.from({ length: 300 }, (_, i) => i / 100));
    await waitFor(() => h?.backend.stats.get('dest.carbon.sent') === 600, 10_000, 'every point sent once');
    expect(h.logs.lines.some((l) => l['code'] === 'E_SPOOL' && l['errno'] === 'EROFS')).toBe(true);
    // New readings still flow while the disk stays read-only.
    await sendReadings(h, 5, 300);
    expect(await carbon.waitForPoints('ro.example.temperature', 305, 10_000)).toHaveLength(305);
    expectAccounted(h, 'carbon');
    // The disk works again before the stop: the progress it refused is written then, so the
    // next start has nothing to send again.
    await disk.readOnly(false);
    await h.close();
    h = undefined;
    // As a new process would find it: no segment left with a point in it.
    expect((await readdir(join(root, 'spool', 'carbon'))).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });

  it('a read-only spool and a dead carbon cost the DalmatinerDB destination nothing', { timeout: 90_000 }, async () => {
    const root = join(dir, 'gw');
    const carbonSpool = join(root, 'spool', 'carbon');
    const disk = await Tmpfs.mount(carbonSpool, 1024);
    mounts.push(disk);
    await disk.readOnly();
    const rx = new DalmatinerReceiver(await freePort());
    await rx.start();
    await carbon.start();
    const linePort = carbon.linePort;
    await carbon.stop();
    h = await startHarnessWithDestinations(
      [
        { type: 'graphite', name: 'carbon', address: `127.0.0.1:${linePort}`, protocol: 'plaintext', prefix: 'iso', ...fast },
        { type: 'dalmatinerdb', name: 'ddb', address: `127.0.0.1:${rx.port}`, bucket: 'b' },
      ],
      root,
      3300,
    );
    await sendReadings(h, 3000);
    await waitFor(() => rx.stored().length === 6000, 20_000, 'every point in DalmatinerDB');
    expect(h.backend.stats.get('dest.ddb.dropped')).toBe(0);
    expectAccounted(h, 'ddb');
    expectAccounted(h, 'carbon');
    expect(h.backend.stats.get('dest.carbon.memory')).toBe(6000); // kept, since the spool cannot take them
    await carbon.start();
    expect(await carbon.waitForPoints('iso.example.temperature', 3000, 60_000)).toHaveLength(3000);
    await rx.stop();
  });
});

/**
 * A TCP hop (a relay, a proxy) between the gateway and carbon: it closes its client when the
 * upstream goes. `hold()` makes it keep what it reads instead of forwarding it (a relay's queue
 * towards a carbon that has not written it yet); whatever it holds dies with the connection.
 */
interface Proxy {
  port: number;
  /** Bytes read from the gateway so far. */
  readonly received: number;
  hold(on: boolean): void;
  close(): Promise<void>;
}

async function startProxy(target: () => number): Promise<Proxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let received = 0;
  let holding = false;
  const server: Server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      received += d.length;
      if (!holding) upstream.write(d);
    });
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    get received() {
      return received;
    },
    hold: (on) => (holding = on),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('a destination killed mid-stream', () => {
  it('carbon killed with SIGKILL behind a TCP proxy, then restarted: every reading lands', { timeout: 60_000 }, async () => {
    await carbon.start();
    const proxy = await startProxy(() => carbon.linePort);
    try {
      h = await startHarnessWithDestinations([{ type: 'graphite', name: 'carbon', address: `127.0.0.1:${proxy.port}`, protocol: 'plaintext', prefix: 'k9', ...fast }], join(dir, 'gw'));
      const { c, board } = await helloBoard(h.port);
      for (let i = 0; i < 300; i++) {
        c.send(board.updateLine({ temperature: i / 100, humidity: 1 }));
        if (i === 100) await carbon.kill();
        if (i === 150) await carbon.start();
        await new Promise((r) => setTimeout(r, 10));
      }
      const temps = await carbon.waitForPoints('k9.example.temperature', 300, 30_000);
      expect(temps.map(([, v]) => v)).toEqual(Array.from({ length: 300 }, (_, i) => i / 100));
      expect(h.backend.stats.get('dest.carbon.resent')).toBeGreaterThan(0);
      expectAccounted(h, 'carbon');
      c.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('DalmatinerDB that stops reading and is then killed (kill -9): every point is stored after it is back', { timeout: 60_000 }, async () => {
    const rx = new DalmatinerReceiver(await freePort());
    await rx.start();
    // A window longer than the test, so the crash surely falls in it.
    h = await startHarnessWithDestinations([{ type: 'dalmatinerdb', name: 'ddb', address: `127.0.0.1:${rx.port}`, bucket: 'b', resendWindowMs: 60_000, ...fast }], join(dir, 'gw'));
    const { c, board } = await helloBoard(h.port);
    const send = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        c.send(board.updateLine({ temperature: i, humidity: 1 }));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await send(0, 100);
    await waitFor(() => rx.stored().length === 200, 10_000, 'first 100 readings stored');
    rx.hang();
    await send(100, 150);
    await waitFor(() => h?.backend.stats.get('dest.ddb.queued') === 300, 10_000, 'handed to the destination while unread');
    // Written into a socket nobody reads: not delivered while the window lasts.
    expect(h.backend.stats.get('dest.ddb.sent')).toBe(0);
    await rx.crash();
    await send(150, 200);
    await rx.start();
    await waitFor(() => rx.stored().length === 400, 20_000, 'all 200 readings stored');
    expect(rx.stored().filter((p) => p.metric === 'example.temperature').map((p) => p.value)).toEqual(Array.from({ length: 200 }, (_, i) => i * 100));
    expect(h.backend.stats.get('dest.ddb.resent')).toBeGreaterThan(0);
    expectAccounted(h, 'ddb');
    c.destroy();
    await rx.stop();
  });
});

describe('the gateway killed with SIGKILL', () => {
  it('with the default configuration and carbon down, loses no reading: the restarted gateway delivers all', { timeout: 60_000 }, async () => {
    await carbon.start();
    const linePort = carbon.linePort;
    await carbon.stop();
    // No queueSize, overflow or retry settings: the defaults a user gets.
    const { config, port, data } = await writeGatewayConfig(dir, [{ type: 'graphite', name: 'carbon', address: `127.0.0.1:${linePort}`, protocol: 'plaintext', prefix: 'sk' }]);
    const start = (): Promise<ChildProcess> => serve(config, port);
    const first = await start();
    const { c, board } = await helloBoard(port);
    // Each reading has a key of its own, so whisper keeps every one (one file per metric).
    for (let i = 0; i < 50; i++) c.send(board.updateLine({ temperature: 20, [`s${i}`]: i }));
    const spoolDir = join(data, 'spool', 'carbon');
    const spooledLines = async (): Promise<number> => {
      let n = 0;
      for (const f of await readdir(spoolDir).catch(() => [])) if (f.endsWith('.jsonl')) n += (await readFile(join(spoolDir, f), 'utf8')).split('\n').filter(Boolean).length;
      return n;
    };
    await waitFor(async () => (await spooledLines()) === 100, 10_000, 'all 100 points in the spool');
    c.destroy();
    await stopProcess(first, 'SIGKILL');
    await carbon.start();
    await start();
    for (let i = 0; i < 50; i++) expect(await carbon.waitForPoints(`sk.example.s${i}`, 1, 20_000), `s${i}`).toEqual([[expect.any(Number), i]]);
  });
});

/** The sources of the points in a spool directory (each reading of these tests has a source of its own). */
async function spooledSources(spoolDir: string): Promise<Set<string>> {
  const sources = new Set<string>();
  for (const f of await readdir(spoolDir).catch(() => [])) {
    if (!f.endsWith('.jsonl')) continue;
    for (const line of (await readFile(join(spoolDir, f), 'utf8').catch(() => '')).split('\n')) {
      try {
        sources.add((JSON.parse(line) as [string, string])[1]);
      } catch {
        // a blank (delivered) or torn line
      }
    }
  }
  return sources;
}

describe.each([
  { signal: 'SIGKILL' as const, route: 'directly' },
  { signal: 'SIGKILL' as const, route: 'through a TCP relay' },
  { signal: 'SIGTERM' as const, route: 'directly' },
  { signal: 'SIGTERM' as const, route: 'through a TCP relay' },
])('carbon killed, then the gateway stopped with $signal, $route', ({ signal, route }) => {
  it('whisper holds every reading once both are back, those written just before carbon died included', { timeout: 120_000 }, async () => {
    await carbon.start();
    const relay = route === 'directly' ? undefined : await startProxy(() => carbon.linePort);
    try {
      const address = `127.0.0.1:${relay?.port ?? carbon.linePort}`;
      // The defaults a user gets: a resend window of 5 s, memory until trouble.
      const { config, port, data } = await writeGatewayConfig(dir, [{ type: 'graphite', name: 'carbon', address, protocol: 'plaintext', prefix: 'kc' }]);
      const start = (): Promise<ChildProcess> => serve(config, port);
      const first = await start();
      const { c, board } = await helloBoard(port);
      // Each reading has a source of its own, so whisper keeps every one (one file per metric).
      const send = (from: number, to: number): void => {
        for (let i = from; i < to; i++) c.send(board.updateLine({ [`s${i}`]: i }));
      };
      send(0, 10);
      for (let i = 0; i < 10; i++) expect(await carbon.waitForPoints(`kc.example.s${i}`, 1, 30_000), `s${i}`).toHaveLength(1);
      // Written just before carbon dies: in the relay's hands, or in carbon's cache.
      if (relay) {
        relay.hold(true);
        const before = relay.received;
        send(10, 20);
        await waitFor(() => relay.received >= before + 10 * 'kc.example.s10 10 1796650000\n'.length, 20_000, 'ten readings at the relay');
      } else {
        send(10, 20);
      }
      await carbon.kill();
      relay?.hold(false);
      send(20, 30); // while carbon is down
      const spoolDir = join(data, 'spool', 'carbon');
      const wanted = Array.from({ length: 20 }, (_, i) => `s${i + 10}`);
      // Everything not delivered is on disk before the gateway goes (a kill gives no chance to write more).
      await waitFor(async () => {
        const on = await spooledSources(spoolDir);
        return wanted.every((w) => on.has(w));
      }, 30_000, 'readings 10-29 in the spool');
      c.destroy();
      await stopProcess(first, signal);
      await start();
      await carbon.start();
      for (let i = 0; i < 30; i++) expect(await carbon.waitForPoints(`kc.example.s${i}`, 1, 30_000), `s${i}`).toEqual([[expect.any(Number), i]]);
    } finally {
      await relay?.close();
    }
  });
});
