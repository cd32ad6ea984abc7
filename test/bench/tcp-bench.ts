import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Gateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/logger.ts';
import { buildDestinations, type DestinationConfig } from '../../src/destinations/destination-config.ts';
import { Stats } from '../../src/stats.ts';
import { rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { fileURLToPath } from 'node:url';
import type { ChildCommand } from './boards-child.ts';
import { BaseHandler, type HandlerInit } from '../../src/handlers/base-handler.ts';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { parseUpdate, type SignedMessage } from '../../src/protocol/message.ts';

/** Verifies each update and hands its reading on, as RRDuinoHandler does, but stores nothing. */
class VerifyOnlyHandler extends BaseHandler {
  constructor(init: HandlerInit) {
    super(init);
    this.registerMessageType('u', (m: SignedMessage) => this.context.publish({ clientId: this.clientId, timeMs: this.context.now(), values: parseUpdate(m.body).values }), true);
  }
}

export interface TcpBenchResult {
  boards: number;
  updates: number;
  handshakesPerSec: number;
  updatesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  rrdErrors: number;
  /** With destinations: points each destination sent per second, until its queue was empty. */
  forwardedPerSec?: number;
  /** CPU the gateway's process used while storing, in cores. */
  gatewayCores: number;
}

function ask(child: ChildProcess, msg: ChildCommand): Promise<{ ms: number }> {
  return new Promise((resolve) => {
    child.once('message', (m: { ms: number }) => resolve(m));
    child.send(msg);
  });
}

export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** N boards: handshakes/s, verified updates/s into rrd files, latency from line to rrdtool's OK (memory: rss-bench.ts). */
export async function benchTcp(
  n: number,
  perBoard: number,
  options: {
    rrdProcesses?: number;
    paceIntervalMs?: number;
    destinations?: DestinationConfig[];
    /** Sign every line before the clock starts, so the sender costs almost nothing. */
    precomputed?: boolean;
    /** Verify only: the handler checks each HMAC and hands the reading on, storing nothing. */
    verifyOnly?: boolean;
  } = {},
): Promise<TcpBenchResult> {
  const { dir, cleanup } = await tempDir('rrduino-bench-');
  const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
  const keys = ids.map((id) => `key-of-${id}-0123456789`); // 16+ characters: no short-key warnings in the run
  for (let i = 0; i < n; i++) {
    const p = rrduinoProfile(keys[i]) as { handler?: string; handler_options: { path: string } };
    p.handler_options.path = `${ids[i]}.rrd`;
    if (options.verifyOnly) p.handler = 'VerifyOnlyHandler';
    await writeProfileFile(join(dir, 'profiles'), ids[i] as string, p);
  }
  const total = n * perBoard;
  const latencies = new Float64Array(total);
  let stored = 0;
  let lastStoredAt = 0;
  let measuring = false;
  const now = (): number => performance.timeOrigin + performance.now();
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const stats = new Stats();
  const logger = createLogger('warn');
  const pipeline = options.destinations ? buildDestinations(options.destinations, { dataDir: join(dir, 'data'), logger, stats }) : undefined;
  const gateway = new Gateway({
    stats,
    sink: {
      publish: (r) => {
        pipeline?.publish(r);
        const t = now();
        if (stored < total) latencies[stored] = t - r.timeMs;
        stored++;
        lastStoredAt = t;
        if (measuring && stored === total) resolveDone();
      },
      close: () => pipeline?.close() ?? Promise.resolve(),
    },
    profilesDir: join(dir, 'profiles'),
    dataDir: join(dir, 'data'),
    logger,
    rrdProcesses: options.rrdProcesses ?? 2,
    registry: HandlerRegistry.withBuiltins().register(VerifyOnlyHandler),
    now,
  });
  const { port } = await gateway.listenTcp('127.0.0.1', 0);
  // Run from dist/ by `npm run bench`: the child is the compiled boards-child.js beside this file.
  const child = fork(fileURLToPath(new URL('./boards-child.js', import.meta.url)), [], { stdio: 'inherit' });
  try {
    const hs = await ask(child, { cmd: 'connect', port, ids, keys });
    // One update each first, so every rrd file exists before the timed run.
    await ask(child, { cmd: 'send', perBoard: 1 });
    while (stored < n) await new Promise((r) => setTimeout(r, 5));
    stored = 0;
    if (options.precomputed) await ask(child, { cmd: 'prepare', perBoard });
    measuring = true;
    const cpuBefore = process.cpuUsage();
    const start = now();
    await ask(child, options.paceIntervalMs ? { cmd: 'pace', perBoard, intervalMs: options.paceIntervalMs } : options.precomputed ? { cmd: 'blast' } : { cmd: 'send', perBoard });
    await Promise.race([done, new Promise((r) => setTimeout(r, 120_000))]);
    const elapsedS = (lastStoredAt - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const gatewayCores = (cpu.user + cpu.system) / 1e6 / elapsedS;
    let forwardedPerSec: number | undefined;
    if (pipeline) {
      await waitFor(() => pipeline.destinations.every((d) => d.backlog === 0), 120_000, 'destination queues empty').catch(() => console.error('warning: destination queue not empty after 120 s'));
      forwardedPerSec = (total * 1000) / (now() - start);
    }
    if (stored < total) console.error(`warning: only ${stored} of ${total} updates stored within 120 s`);
    const measured = latencies.subarray(0, Math.min(stored, total)).sort();
    return {
      boards: n,
      updates: stored,
      handshakesPerSec: n / (hs.ms / 1000),
      updatesPerSec: stored / elapsedS,
      p50Ms: percentile(measured, 50),
      p99Ms: percentile(measured, 99),
      rrdErrors: gateway.stats.get('errors.E_RRD_COMMAND'),
      forwardedPerSec,
      gatewayCores,
    };
  } finally {
    await ask(child, { cmd: 'close' }).catch(() => undefined);
    await gateway.close();
    await cleanup();
  }
}
