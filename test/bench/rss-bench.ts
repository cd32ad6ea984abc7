import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { boardAddress, freePort, rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { SERVER_JS } from '../helpers/repo.ts';

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024;
}

export interface RssResult {
  boards: number;
  /** From spawning the process to its boards' port answering, with `boards` profiles in the directory. */
  startupMs: number;
  idleMB: number;
  /** 3 s after the last board verified: what the burst of 10,000 hellos leaves behind too. */
  connectedMB: number;
  /** {@link SETTLE_MS} after the last hello, once V8's memory reducer has returned that garbage: what the gateway holds with its boards connected and quiet. */
  settledMB: number;
  /** Per board, settled. */
  perBoardKB: number;
}

/**
 * How long the boards stay connected and quiet before the settled figure: V8's memory reducer
 * starts ~8 s after allocation slows and compacts in steps; at 10,000 boards (three runs) RSS fell
 * 19-43 MB, to 126-129 MB, between 20 and 30 s after the last hello, then stayed.
 */
const SETTLE_MS = 30_000;

/** RSS of a real `node [nodeArgs] dist/server.js serve` process, idle and with `n` boards connected and verified. */
export async function benchRss(n: number, nodeArgs: string[] = []): Promise<RssResult> {
  const { dir, cleanup } = await tempDir('rrduino-rss-');
  const ids = Array.from({ length: n }, (_, i) => `rss-${i}`);
  for (const id of ids) {
    const p = rrduinoProfile(`key-of-${id}-0123456789`) as { handler_options: { path: string } };
    p.handler_options.path = `${id}.rrd`;
    await writeProfileFile(join(dir, 'profiles'), id, p);
  }
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, SERVER_JS, 'serve', '--http', '127.0.0.1:0', '--host', '127.0.0.1', '--port', String(port), '--profiles', join(dir, 'profiles'), '--data', join(dir, 'data'), '--log-level', 'warn', '--stats-interval', '0', '--max-connections', String(n + 100)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const sockets: Socket[] = [];
  try {
    const gatewayPid = child.pid as number;
    await waitFor(async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          const s = connect({ port, host: '127.0.0.1' }, () => (s.destroy(), resolve()));
          s.on('error', reject);
        });
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'gateway start');
    const startupMs = performance.now() - spawnedAt;
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await rssOf(gatewayPid);
    let verified = 0;
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(
          (id, j) =>
            new Promise<void>((resolve, reject) => {
              const board = new BoardProtocol(id, `key-of-${id}-0123456789`);
              const s = connect({ port, host: '127.0.0.1', localAddress: boardAddress(i + j) });
              sockets.push(s);
              s.on('error', reject);
              s.once('data', (material: Buffer) => {
                board.acceptKeyMaterial(material.subarray(0, 32));
                s.write(board.updateLine({ temperature: 20 }));
                verified++;
                resolve();
              });
              s.write(board.helloLine());
            }),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 3000)); // let the updates land
    const connected = await rssOf(gatewayPid);
    if (verified !== n) throw new Error(`only ${verified} of ${n} boards connected`);
    await new Promise((r) => setTimeout(r, SETTLE_MS - 3000));
    const settled = await rssOf(gatewayPid);
    return { boards: n, startupMs, idleMB: idle / 1e6, connectedMB: connected / 1e6, settledMB: settled / 1e6, perBoardKB: (settled - idle) / 1024 / n };
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await cleanup();
  }
}
