import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildDestinations } from '../../src/destinations/destination-config.ts';
import { createLogger } from '../../src/logger.ts';
import { Stats } from '../../src/stats.ts';
import { freePort, tempDir } from '../helpers/fixtures.ts';

/**
 * The receiving end, in CPython: plaintext lines counted, or pickle frames read with the
 * reference unpickler. It says when `n` points of ours (paths under `bench.`) are in.
 */
const RECEIVER = String.raw`
import socket, struct, pickle, sys, time, threading
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', port)); srv.listen(64)
lock = threading.Lock(); got = [0]
def serve(c):
    buf = b''
    while True:
        d = c.recv(1 << 20)
        if not d: return
        if mode == 'plaintext':
            k = d.count(b'bench.')
        else:
            buf += d; k = 0
            while len(buf) >= 4:
                size = struct.unpack('!L', buf[:4])[0]
                if len(buf) < 4 + size: break
                k += sum(1 for p in pickle.loads(buf[4:4 + size]) if p[0].startswith('bench.'))
                buf = buf[4 + size:]
        if k == 0: continue
        with lock:
            got[0] += k
            print('got %d %.3f' % (got[0], time.time() * 1000), flush=True)
print('ready', flush=True)
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

interface Receiver {
  port: number;
  /** Once all `n` points are in, or nothing came for 3 s: how many, and when the last came (ms since the epoch). */
  done: Promise<{ points: number; lastAt: number }>;
  stop: () => void;
}

async function startReceiver(dir: string, mode: 'plaintext' | 'pickle', n: number): Promise<Receiver> {
  const script = join(dir, 'receiver.py');
  await writeFile(script, RECEIVER);
  const port = await freePort();
  const proc = spawn('/usr/bin/python3', [script, String(port), mode, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = new Promise<{ points: number; lastAt: number }>((resolve) => {
    let last = { points: 0, lastAt: NaN };
    let quiet: NodeJS.Timeout | undefined;
    const settle = (): void => {
      clearTimeout(quiet);
      resolve(last);
    };
    lines.on('line', (line) => {
      if (line === 'ready') {
        ready();
        quiet = setTimeout(settle, 30_000); // nothing at all
      }
      const m = /^got (\d+) ([\d.]+)$/.exec(line);
      if (!m) return;
      last = { points: Number(m[1]), lastAt: Number(m[2]) };
      clearTimeout(quiet);
      if (last.points >= n) settle();
      else quiet = setTimeout(settle, 3_000);
    });
  });
  await isReady;
  return { port, done, stop: () => proc.kill() };
}

export interface ForwardResult {
  forwarder: string;
  pointsPerSec: number;
  /** Points the receiver got (of 200,000). */
  points: number;
  /** Points that went through the disk spool on the way (the gateway only). */
  spooled: number;
}

const METRICS = 1000;
const TIMESTAMPS = 200;

/** The gateway's destination queue and Graphite sender forwarding a burst of readings (the boards and rrd left out: a relay's job). */
export async function benchGatewayForward(protocol: 'plaintext' | 'pickle'): Promise<ForwardResult> {
  const { dir, cleanup } = await tempDir('rrduino-bench-forward-');
  const n = METRICS * TIMESTAMPS;
  const rx = await startReceiver(dir, protocol, n);
  const stats = new Stats();
  const set = buildDestinations([{ type: 'graphite', name: 'g', address: `127.0.0.1:${rx.port}`, protocol, prefix: 'bench' }], { dataDir: join(dir, 'data'), logger: createLogger('warn'), stats });
  try {
    const base = Math.floor(Date.now() / 1000) - TIMESTAMPS - 10;
    const start = performance.timeOrigin + performance.now();
    for (let t = 0; t < TIMESTAMPS; t++) {
      for (let m = 0; m < METRICS; m++) set.publish({ clientId: `b${m}`, timeMs: (base + t) * 1000, values: new Map([['temperature', 20 + t / 100]]) });
      if (t % 10 === 9) await new Promise((r) => setImmediate(r)); // readings arrive over time, as from boards
    }
    const got = await rx.done;
    return { forwarder: `rrduino-gateway, ${protocol}`, points: got.points, pointsPerSec: (got.points * 1000) / (got.lastAt - start), spooled: stats.get('dest.g.spooled') };
  } finally {
    await set.close();
    rx.stop();
    await cleanup();
  }
}

/** Debian's carbon-c-relay with its defaults, forwarding the same burst written to it as plaintext lines. */
export async function benchRelayForward(): Promise<ForwardResult | undefined> {
  const { dir, cleanup } = await tempDir('rrduino-bench-relay-');
  const n = METRICS * TIMESTAMPS;
  const rx = await startReceiver(dir, 'plaintext', n);
  const conf = join(dir, 'relay.conf');
  await writeFile(conf, `cluster sink forward 127.0.0.1:${rx.port};\nmatch * send to sink stop;\n`);
  const port = await freePort();
  let relay: ChildProcess | undefined;
  try {
    relay = spawn('carbon-c-relay', ['-f', conf, '-p', String(port), '-s'], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => relay?.once('exit', () => r()));
    const notInstalled = await new Promise<boolean>((resolve) => {
      relay?.once('error', () => resolve(true));
      relay?.once('spawn', () => resolve(false));
    });
    if (notInstalled) return undefined;
    const s = await connectWhenUp(port, exited);
    const base = Math.floor(Date.now() / 1000) - TIMESTAMPS - 10;
    const text: string[] = [];
    for (let t = 0; t < TIMESTAMPS; t++) for (let m = 0; m < METRICS; m++) text.push(`bench.b${m}.temperature ${20 + t / 100} ${base + t}\n`);
    const bytes = Buffer.from(text.join(''));
    const start = performance.timeOrigin + performance.now();
    await new Promise<void>((resolve) => s.end(bytes, () => resolve()));
    const got = await rx.done;
    return { forwarder: 'carbon-c-relay 3.7 (defaults), plaintext', points: got.points, pointsPerSec: (got.points * 1000) / (got.lastAt - start), spooled: 0 };
  } finally {
    if (relay && relay.exitCode === null) {
      const gone = new Promise((r) => relay?.once('exit', r));
      relay.kill();
      await gone;
    }
    rx.stop();
    await cleanup();
  }
}

/** A connection to a server that is starting: tried every 50 ms for up to 10 s, or until it exits. */
async function connectWhenUp(port: number, exited: Promise<void>): Promise<Socket> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (const end = Date.now() + 10_000; ; ) {
    const s = await new Promise<Socket | undefined>((resolve) => {
      const sock = connect({ port, host: '127.0.0.1' }, () => resolve(sock));
      sock.once('error', () => resolve(undefined));
    });
    if (s) {
      s.on('error', () => undefined); // what the relay does with it is measured at the receiver
      return s;
    }
    if (gone || Date.now() > end) throw new Error(`carbon-c-relay did not listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
