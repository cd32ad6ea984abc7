import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { freePort, nextSecond, rrduinoProfile, stopProcess, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { runGateway } from '../helpers/gateway-process.ts';
import { lastUpdateValues } from '../helpers/rrd-read.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { SERVER_JS } from '../helpers/repo.ts';
import { processes } from '../helpers/proc.ts';

// `serve --workers 2` as users run it: real worker processes, real rrdtool, boards over TCP.

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('rrduino-workers-')));
afterEach(async () => cleanup());

const key = (id: string): string => `key-of-${id}-0123456789`;

/** The session workers of a gateway process: its children running session-worker. */
const workerPids = (parent: number): Promise<number[]> => processes((p) => p.ppid === parent && p.cmdline.includes('session-worker'));

/** Processes whose command line mentions `text`. */
const processesMentioning = (text: string): Promise<number[]> => processes((p) => p.cmdline.includes(text));

interface StatusJson {
  boards: Array<{ clientId: string; connected: boolean; remote?: string; lastValues: Array<[string, number | null]> }>;
}

async function start(ids: string[], env: NodeJS.ProcessEnv = {}): Promise<{ port: number; status: () => Promise<StatusJson>; metrics: () => Promise<string>; gw: ReturnType<typeof runGateway> }> {
  for (const id of ids) {
    const p = rrduinoProfile(key(id)) as { handler_options: { path: string } };
    p.handler_options.path = `${id}.rrd`;
    await writeProfileFile(join(dir, 'profiles'), id, p);
  }
  const port = await freePort();
  const gw = runGateway(['serve', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--http', '127.0.0.1:0', '--profiles', join(dir, 'profiles'), '--data', join(dir, 'data'), '--log-format', 'json'], env);
  await waitFor(() => gw.output().includes('status page'), 20_000, 'the gateway and its workers');
  const url = /"url":"(http:[^"]+)"/.exec(gw.output())?.[1] as string;
  return {
    port,
    gw,
    status: async () => (await fetch(`${url}status.json`)).json() as Promise<StatusJson>,
    metrics: async () => (await fetch(`${url}metrics`)).text(),
  };
}

const rrdValue = async (id: string): Promise<number> => Number((await lastUpdateValues(join(dir, 'data', `${id}.rrd`)))?.values['temperature']);

describe('serve --workers 2', { timeout: 60_000 }, () => {
  it('exits with the reason when its workers cannot listen (the port is taken), leaving no worker behind', async () => {
    await writeProfileFile(join(dir, 'profiles'), 'p', rrduinoProfile(key('p')));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      const gw = spawn(process.execPath, [SERVER_JS, 'serve', '--workers', '2', '--host', '127.0.0.1', '--port', String(port), '--http', 'off', '--profiles', join(dir, 'profiles'), '--data', join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      gw.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise((r) => gw.once('exit', r));
      expect(code).toBe(1);
      expect(stderr).toMatch(/session worker could not start: .*EADDRINUSE/);
      // Workers carry the primary's arguments: none with this test's directory may outlive it.
      await waitFor(async () => (await processesMentioning(dir)).length === 0, 5_000, 'no process left');
    } finally {
      taken.close();
    }
  });

  it('serves boards from two worker processes: every update lands in its board’s rrd, and the status page and metrics count them all', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`);
    const { port, status, metrics, gw } = await start(ids);
    const boards = ids.map((id) => new SimulatedBoard({ clientId: id, key: key(id), connect: tcpLink('127.0.0.1', port), intervalMs: 0 }));
    try {
      expect(await workerPids(gw.child.pid as number)).toHaveLength(2);
      expect(gw.output().match(/listening for boards over TCP/g)).toHaveLength(1); // the primary says it, once
      for (const b of boards) b.start();
      await Promise.all(boards.map((b) => b.waitReady()));
      // One reading per board and second: an rrd file keeps one value a second (the first).
      for (let k = 1; k <= 5; k++) {
        boards.forEach((b, i) => b.send({ temperature: i * 10 + k }));
        await waitFor(async () => (await Promise.all(ids.map(rrdValue))).every((v, i) => v === i * 10 + k), 15_000, `update ${k} of every board in its rrd`);
        await nextSecond();
      }
      const s = await status();
      expect(s.boards.filter((b) => b.connected).map((b) => b.clientId).sort()).toEqual([...ids].sort());
      expect(await metrics()).toContain('rrduino_events_total{event="updates.stored"} 60');
      expect(await metrics()).toMatch(/rrduino_boards_connected 12\b/);
    } finally {
      await Promise.all(boards.map((b) => b.stop()));
      await stopProcess(gw.child);
    }
  });

  it('keeps one session per board across workers: a newer verified session ends the older, wherever it is', async () => {
    // Round robin, so that the second connection goes to the other worker and the ending crosses processes.
    const { port, status, gw } = await start(['twin'], { NODE_CLUSTER_SCHED_POLICY: 'rr' });
    const first = new SimulatedBoard({ clientId: 'twin', key: key('twin'), connect: tcpLink('127.0.0.1', port), intervalMs: 0, reconnectDelayMs: 60_000 });
    const second = new SimulatedBoard({ clientId: 'twin', key: key('twin'), connect: tcpLink('127.0.0.1', port), intervalMs: 0, reconnectDelayMs: 60_000 });
    let firstDropped = false;
    first.on('disconnected', () => (firstDropped = true));
    try {
      first.start();
      await first.waitReady();
      first.send({ temperature: 1 });
      await waitFor(async () => (await rrdValue('twin')) === 1, 10_000, 'the first session’s update');
      await nextSecond(); // the rrd keeps one value a second
      second.start();
      await second.waitReady();
      second.send({ temperature: 2 });
      await waitFor(() => firstDropped, 10_000, 'the older session hung up');
      await waitFor(async () => (await rrdValue('twin')) === 2, 10_000, 'the newer session’s update');
      const board = (await status()).boards.find((b) => b.clientId === 'twin');
      expect(board?.connected).toBe(true);
      expect(gw.output()).toContain('a newer session of this board verified');
      // The two connections went to different workers, so the ending crossed processes.
      expect(new Set([...gw.output().matchAll(/"worker":(\d+)[^\n]*"msg":"hello"/g)].map((m) => m[1])).size).toBe(2);
    } finally {
      await first.stop();
      await second.stop();
      await stopProcess(gw.child);
    }
  });

  it('replaces a worker that is killed; its boards reconnect and their updates land again; the gateway stays up', async () => {
    const ids = ['k0', 'k1', 'k2', 'k3'];
    const { port, gw } = await start(ids);
    const boards = ids.map((id) => new SimulatedBoard({ clientId: id, key: key(id), connect: tcpLink('127.0.0.1', port), intervalMs: 100, reconnectDelayMs: 200, readings: () => ({ temperature: 7 }) }));
    try {
      for (const b of boards) b.start();
      await Promise.all(boards.map((b) => b.waitReady()));
      const [victim] = await workerPids(gw.child.pid as number);
      process.kill(victim as number, 'SIGKILL');
      await waitFor(async () => (await workerPids(gw.child.pid as number)).length === 2 && !(await workerPids(gw.child.pid as number)).includes(victim as number), 15_000, 'a new worker');
      expect(gw.output()).toContain('session worker exited');
      // Every board, including those the dead worker held, stores again after it.
      const since = Date.now() / 1000;
      await waitFor(async () => (await Promise.all(ids.map((id) => lastUpdateValues(join(dir, 'data', `${id}.rrd`))))).every((u) => (u?.time ?? 0) > since + 0.5), 20_000, 'updates after the kill');
      expect(gw.child.exitCode).toBeNull();
    } finally {
      await Promise.all(boards.map((b) => b.stop()));
      await stopProcess(gw.child);
    }
  });

  it('stops on SIGTERM with every update it had read in the rrd, and leaves no worker behind', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const { port, gw, metrics } = await start(ids);
    const client = await RawClient.open(port);
    const boards = ids.map((id) => new SimulatedBoard({ clientId: id, key: key(id), connect: tcpLink('127.0.0.1', port), intervalMs: 0, reconnectDelayMs: 60_000 }));
    try {
      for (const b of boards) b.start();
      await Promise.all(boards.map((b) => b.waitReady()));
      const pids = await workerPids(gw.child.pid as number);
      boards.forEach((b, i) => b.send({ temperature: 100 + i }));
      // A stop reads nothing more from the boards and finishes what was read: SIGTERM once all are read.
      await waitFor(async () => /rrduino_events_total\{event="messages\.verified"\} 20\b/.test(await metrics()), 15_000, 'every update read');
      gw.child.kill('SIGTERM');
      await new Promise((r) => gw.child.once('exit', r));
      expect(gw.child.exitCode).toBe(0);
      expect(await Promise.all(ids.map(rrdValue))).toEqual(ids.map((_, i) => 100 + i));
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(); // gone
    } finally {
      client.destroy();
      await Promise.all(boards.map((b) => b.stop()));
      await stopProcess(gw.child);
    }
  });
});
