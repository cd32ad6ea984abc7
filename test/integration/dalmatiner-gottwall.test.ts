import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { encodeStreamInit } from '../../src/destinations/dalmatinerdb/codec.ts';
import { getPoints, listBuckets } from '../../src/destinations/dalmatinerdb/dalmatiner-query.ts';
import type { DestinationConfig } from '../../src/destinations/destination-config.ts';
import { accounting } from '../helpers/faulty-fs.ts';
import { freePort, tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarnessWithDestinations, type Harness } from '../helpers/gateway-harness.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { DalmatinerReceiver, GottwallReceiver } from '../helpers/receivers.ts';

let h: Harness | undefined;
let dir: string;
let cleanupDir: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup: cleanupDir } = await tempDir('rrduino-dg-')));
afterEach(async () => {
  await h?.close();
  h = undefined;
  await cleanupDir();
});

async function gatewayWith(destinations: DestinationConfig[]): Promise<Harness> {
  h = await startHarnessWithDestinations(destinations, join(dir, 'gw'));
  return h;
}

async function board(port: number): Promise<{ c: RawClient; b: BoardProtocol }> {
  const { c, board: b } = await helloBoard(port);
  return { c, b };
}

const TEMPS = [21.5, -3.25, 0, 40, 18.06];

describe('DalmatinerDB destination (stream mode, doc dialect)', () => {
  it('sends scaled points after a stream init, re-inits after a reconnect, and stores each once', { timeout: 30_000 }, async () => {
    const rx = new DalmatinerReceiver(await freePort());
    await rx.start();
    // A window longer than the test: the first points are surely in it when the server stops.
    const g = await gatewayWith([{ type: 'dalmatinerdb', name: 'ddb', address: `127.0.0.1:${rx.port}`, bucket: 'sensors', maxDelay: 1, retryMinMs: 50, retryMaxMs: 200, resendWindowMs: 60_000 }]);
    const { c, b } = await board(g.port);
    for (const t of TEMPS.slice(0, 2)) c.send(b.updateLine({ temperature: t }));
    await waitFor(() => rx.stored().length === 2, 5000, 'first two points');
    await rx.stop(); // down
    for (const t of TEMPS.slice(2)) c.send(b.updateLine({ temperature: t }));
    await waitFor(() => g.backend.stats.get('dest.ddb.retries') >= 1, 5000, 'a failed attempt');
    await rx.start(); // back
    await waitFor(() => rx.stored().length === 5, 10_000, 'all five points');
    const stored = rx.stored();
    expect(stored.map((p) => p.value)).toEqual([2150, -325, 0, 4000, 1806]);
    expect(stored.every((p) => p.metric === 'example.temperature')).toBe(true);
    expect(stored.map((p) => p.time)).toEqual(g.readings.map((r) => Math.floor(r.timeMs / 1000)));
    expect(rx.inits).toEqual([encodeStreamInit('doc', 'sensors', 1).toString('hex'), encodeStreamInit('doc', 'sensors', 1).toString('hex')]);
    // The two points of the window before the break came again after the reconnect, and nothing else.
    expect(g.backend.stats.get('dest.ddb.resent')).toBe(2);
    expect(rx.received.length).toBe(5 + 2);
    // Still in the window of the connection that is up now: held, not yet counted as sent.
    expect(g.backend.stats.get('dest.ddb.sent')).toBe(0);
    expect(accounting(g.backend.stats, 'ddb')).toEqual({ queued: 5, accounted: 5 });
    c.destroy();
    await rx.stop();
  });

  it('logs and counts a value out of range instead of wrapping it', async () => {
    const rx = new DalmatinerReceiver(await freePort());
    await rx.start();
    const g = await gatewayWith([{ type: 'dalmatinerdb', name: 'ddb', address: `127.0.0.1:${rx.port}`, bucket: 'b', dialect: 'release', scale: 1e15 }]);
    const { c, b } = await board(g.port);
    c.send(b.updateLine({ temperature: 100 })); // 1e17 > 2^55
    await waitFor(() => g.backend.stats.get('dest.ddb.dropped.out_of_range') === 1, 5000, 'out-of-range count');
    expect(rx.received).toEqual([]);
    expect(g.backend.stats.get('dest.ddb.sent')).toBe(0);
    c.destroy();
    await rx.stop();
  });
});

describe('dalmatiner queries against bad replies', () => {
  async function fakeServer(reply: Buffer, close = true): Promise<{ port: number; stop: () => Promise<void> }> {
    const port = await freePort();
    const server = createServer((s) => {
      s.once('data', () => (close ? s.end(reply) : s.write(reply)));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    return { port, stop: () => new Promise((r) => server.close(() => r())) };
  }
  const addr = (port: number) => ({ host: '127.0.0.1', port, tls: false });

  it('reads a good list reply', async () => {
    const s = await fakeServer(Buffer.from('0000000700026162000163', 'hex'));
    expect(await listBuckets(addr(s.port), 'doc')).toEqual(['ab', 'c']);
    await s.stop();
  });
  it('rejects a truncated frame', async () => {
    const s = await fakeServer(Buffer.from('00000007000261', 'hex'));
    await expect(listBuckets(addr(s.port), 'doc')).rejects.toMatchObject({ code: 'E_FRAME_TRUNCATED' });
    await s.stop();
  });
  it('rejects garbage: an absurd length and an undecodable body', async () => {
    const big = await fakeServer(Buffer.from('ffffffff00', 'hex'), false);
    await expect(listBuckets(addr(big.port), 'doc')).rejects.toMatchObject({ code: 'E_FRAME_TOO_LARGE' });
    await big.stop();
    const bad = await fakeServer(Buffer.from('000000030005ff', 'hex'));
    await expect(listBuckets(addr(bad.port), 'doc')).rejects.toMatchObject({ code: 'E_FRAME_TRUNCATED' });
    await bad.stop();
  });
  it('reads a get reply with resolution and checks its size', async () => {
    const body = Buffer.concat([Buffer.from('00000000000003e8', 'hex'), Buffer.from('01000000000000002a000000000000000000', 'hex')]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const s = await fakeServer(Buffer.concat([len, body]));
    expect(await getPoints(addr(s.port), 'doc', { bucket: 'b', metric: 'm', from: 10, count: 2 })).toEqual({ resolution: 1000, points: [42, null] });
    await expect(getPoints(addr(s.port), 'doc', { bucket: 'b', metric: 'm', from: 10, count: 3 })).rejects.toMatchObject({ code: 'E_FRAME_TRUNCATED' });
    await s.stop();
  });
});

describe('GottWall destination (HTTP)', () => {
  const gw = (port: number, extra: Partial<DestinationConfig> = {}): DestinationConfig =>
    ({ type: 'gottwall', name: 'gw', url: `http://127.0.0.1:${port}`, prefix: 'gottwall', project: 'farm', publicKey: 'pubkey-123', privateKey: 's3cret-installation-key', retryMinMs: 50, retryMaxMs: 100, ...extra }) as DestinationConfig;

  it('POSTs each reading with the S1 header the server accepts, and with Basic', async () => {
    const rx = new GottwallReceiver(await freePort(), 'pubkey-123', 's3cret-installation-key');
    await rx.start();
    const g = await gatewayWith([gw(rx.port), gw(rx.port, { name: 'gw-basic', auth: 'basic', actions: { temperature: 'incr' } })]);
    const { c, b } = await board(g.port);
    c.send(b.updateLine({ temperature: 21.5 }));
    await waitFor(() => rx.got.length === 2, 5000, 'two requests');
    const r = g.readings[0] as { timeMs: number };
    expect(rx.got.map((x) => x.path).sort()).toEqual(['/gottwall/api/v1/farm/gauge', '/gottwall/api/v1/farm/incr']);
    expect(rx.got[0]?.body).toEqual({ n: 'temperature', ts: Math.floor(r.timeMs / 1000), v: 21.5, p: 'farm', f: { board: ['example'] } });
    c.destroy();
    await rx.stop();
  });

  it('retries a 500 until it is accepted (once), and never retries 403 or 404', async () => {
    const rx = new GottwallReceiver(await freePort(), 'pubkey-123', 's3cret-installation-key');
    await rx.start();
    rx.statuses = [500, 500, 200, 404];
    const g = await gatewayWith([gw(rx.port)]);
    const { c, b } = await board(g.port);
    c.send(b.updateLine({ temperature: 1 }));
    await waitFor(() => rx.got.length === 1, 5000, 'accepted after two 500s');
    c.send(b.updateLine({ temperature: 2 })); // answered 404
    await waitFor(() => g.backend.stats.get('dest.gw.rejected') === 1, 5000, '404 counted');
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.requests).toBe(4); // 500, 500, 200, 404: the 404 was not retried
    expect(g.backend.stats.get('dest.gw.sent')).toBe(1);
    await rx.stop();
    const wrongKey = new GottwallReceiver(rx.port, 'pubkey-123', 'another-key');
    await wrongKey.start(); // answers 403 to our signature
    c.send(b.updateLine({ temperature: 3 }));
    await waitFor(() => g.backend.stats.get('dest.gw.rejected') === 2, 5000, '403 counted');
    await new Promise((r) => setTimeout(r, 300));
    expect(wrongKey.requests).toBe(1); // answered 403 once, never retried
    c.destroy();
    await wrongKey.stop();
  });
});
