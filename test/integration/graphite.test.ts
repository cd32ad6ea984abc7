import { execFile, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import type { DestinationConfig } from '../../src/destinations/destination-config.ts';
import { Carbon } from '../helpers/carbon.ts';
import { accounting } from '../helpers/faulty-fs.ts';
import { EXAMPLE_KEY, freePort, stopProcess, tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarnessWithDestinations, type Harness } from '../helpers/gateway-harness.ts';
import { spawnGateway, writeGatewayConfig } from '../helpers/gateway-process.ts';

const run = promisify(execFile);

let carbon: Carbon;
let dir: string;
let cleanupDir: () => Promise<void>;
let h: Harness | undefined;

beforeEach(async () => {
  ({ dir, cleanup: cleanupDir } = await tempDir('rrduino-graphite-'));
  carbon = new Carbon(join(dir, 'carbon'));
  await carbon.start();
});

afterEach(async () => {
  await h?.close();
  h = undefined;
  await carbon.stop();
  await cleanupDir();
});

async function gatewayWith(destinations: DestinationConfig[]): Promise<Harness> {
  h = await startHarnessWithDestinations(destinations, join(dir, 'gw-data'));
  return h;
}

const TEMPS = [21.5, -3.25, 0, 40, 18.06];

describe('Graphite destinations against a real carbon-cache', () => {
  it('plaintext and pickle, two destinations at once: right values and timestamps', { timeout: 30_000 }, async () => {
    const g = await gatewayWith([
      { type: 'graphite', address: `127.0.0.1:${carbon.linePort}`, protocol: 'plaintext', prefix: 'plain' },
      { type: 'graphite', address: `127.0.0.1:${carbon.picklePort}`, protocol: 'pickle', prefix: 'pick' },
    ]);
    const { c, board } = await helloBoard(g.port);
    for (const t of TEMPS) c.send(board.updateLine({ temperature: t, humidity: { int: 54 } }));
    await waitFor(() => g.readings.length === TEMPS.length);
    const expected = g.readings.map((r) => [Math.floor(r.timeMs / 1000), r.values.get('temperature')]);
    expect(await carbon.waitForPoints('plain.example.temperature', 5)).toEqual(expected);
    expect(await carbon.waitForPoints('pick.example.temperature', 5)).toEqual(expected);
    expect((await carbon.waitForPoints('pick.example.humidity', 5)).map(([, v]) => v)).toEqual([54, 54, 54, 54, 54]);
    c.destroy();
  });

  it('sends over TLS with a CA file, and refuses a server it cannot verify', { timeout: 30_000 }, async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert, '-days', '1']);
    const tlsPort = await freePort();
    const sockets = new Set<Socket>();
    const proxy: TlsServer = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (client) => {
      const upstream = connect(carbon.linePort, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    proxy.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => proxy.listen(tlsPort, '127.0.0.1', r));
    try {
      const g = await gatewayWith([
        { type: 'graphite', name: 'tls-ok', address: `tls://localhost:${tlsPort}`, protocol: 'plaintext', prefix: 'tls', caFile: cert },
        { type: 'graphite', name: 'tls-unverified', address: `tls://localhost:${tlsPort}`, protocol: 'plaintext', prefix: 'bad', retryMinMs: 50, retryMaxMs: 100 },
      ]);
      const { c, board } = await helloBoard(g.port);
      for (const t of TEMPS.slice(0, 3)) c.send(board.updateLine({ temperature: t, humidity: 1 }));
      expect((await carbon.waitForPoints('tls.example.temperature', 3)).map(([, v]) => v)).toEqual(TEMPS.slice(0, 3));
      await waitFor(() => g.backend.stats.get('dest.tls-unverified.retries') >= 2, 5000, 'retries against an unverifiable server');
      expect(g.backend.stats.get('dest.tls-unverified.sent')).toBe(0);
      expect(await carbon.fetch('bad.example.temperature')).toEqual([]);
      c.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  /** Two readings while carbon is up, carbon stopped, three more, carbon back: whisper holds all five. */
  async function carbonDownAndBack(resendWindowMs: number): Promise<Harness> {
    const g = await gatewayWith([{ type: 'graphite', name: 'local', address: `127.0.0.1:${carbon.picklePort}`, protocol: 'pickle', prefix: 'r', retryMinMs: 100, retryMaxMs: 400, resendWindowMs }]);
    const { c, board } = await helloBoard(g.port);
    for (const t of TEMPS.slice(0, 2)) c.send(board.updateLine({ temperature: t, humidity: 1 }));
    await carbon.waitForPoints('r.example.temperature', 2);
    await carbon.stop();
    for (const t of TEMPS.slice(2)) c.send(board.updateLine({ temperature: t, humidity: 1 }));
    await waitFor(() => g.backend.stats.get('dest.local.retries') >= 2, 10_000, 'failed attempts while carbon is down');
    await carbon.start();
    expect((await carbon.waitForPoints('r.example.temperature', 5)).map(([, v]) => v)).toEqual(TEMPS);
    c.destroy();
    return g;
  }

  it('keeps readings while carbon is down and delivers each exactly once when it is back', { timeout: 40_000 }, async () => {
    // A window longer than the test: the first readings are surely in it when carbon stops.
    const g = await carbonDownAndBack(60_000);
    // Written before carbon stopped, the first readings were still in their window: sent again.
    expect(g.backend.stats.get('dest.local.resent')).toBe(4);
    expect(accounting(g.backend.stats, 'local')).toEqual({ queued: 10, accounted: 10 });
    expect(g.backend.stats.get('dest.local.sent')).toBe(0); // in the window of the connection that is up now
  });

  it('logs the return of carbon with how long it was down, and what waited for it once delivered', { timeout: 40_000 }, async () => {
    const g = await carbonDownAndBack(0);
    await waitFor(() => g.backend.stats.get('dest.local.sent') === 10, 5000, 'all points sent');
    // With no window, what was written before the stop was delivered then: 3 readings × 2 sources waited.
    await waitFor(() => g.logs.lines.some((l) => typeof l['delivered'] === 'number'), 5000, 'the delivered line');
    const back = g.logs.lines.find((l) => typeof l['delivered'] === 'number');
    expect(back).toMatchObject({ level: 30, destination: 'local', delivered: 6 });
    expect(back?.['downSeconds']).toEqual(expect.any(Number));
  });

  it("sends the gateway's own counters to carbon as <prefix>.gateway.<host>.*", { timeout: 60_000 }, async () => {
    const { config, port } = await writeGatewayConfig(dir, [{ type: 'graphite', name: 'carbon', address: `127.0.0.1:${carbon.linePort}`, protocol: 'plaintext', prefix: 'gw' }]);
    const child = await spawnGateway(['serve', '--config', config, '--gateway-metrics-interval', '1'], port);
    try {
      const { c, board } = await helloBoard(port);
      c.send(board.updateLine({ temperature: 1 }));
      const host = hostname().replace(/\./g, '_');
      const points = await carbon.waitForPoints(`gw.gateway.${host}.updates.stored`, 1, 20_000);
      expect(points.at(-1)?.[1]).toBe(1);
      c.destroy();
    } finally {
      await stopProcess(child);
    }
  });

  it('delivers spooled points after the gateway was killed with SIGKILL', { timeout: 60_000 }, async () => {
    await carbon.stop();
    const { config, port, data } = await writeGatewayConfig(dir, [
      { type: 'graphite', name: 'carbon', address: `127.0.0.1:${carbon.linePort}`, protocol: 'plaintext', prefix: 'k', queueSize: 0, retryMinMs: 100, retryMaxMs: 300 },
    ]);
    const start = (): Promise<ChildProcess> => spawnGateway(['serve', '--config', config], port);
    const first = await start();
    const board = new SimulatedBoard({ clientId: 'example', key: EXAMPLE_KEY, connect: tcpLink('127.0.0.1', port), intervalMs: 0 });
    board.start();
    await board.waitReady();
    for (const t of TEMPS.slice(0, 3)) {
      board.send({ temperature: t });
      await new Promise((r) => setTimeout(r, 1100)); // one whisper slot each
    }
    await board.stop();
    const spoolDir = join(data, 'spool', 'carbon');
    await waitFor(async () => (await readdir(spoolDir).catch(() => [])).some((f) => f.endsWith('.jsonl')), 5000, 'spool file');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await carbon.start();
    const second = await start();
    try {
      const points = await carbon.waitForPoints('k.example.temperature', 3, 20_000);
      expect(points.map(([, v]) => v)).toEqual(TEMPS.slice(0, 3));
      await waitFor(async () => (await readdir(spoolDir)).length === 0, 5000, 'spool emptied');
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});
