import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { localGateway } from '../helpers/gateway-harness.ts';
import type { ReadingSink } from '../../src/reading.ts';
import { createLogger } from '../../src/logger.ts';
import { buildDestinations, type DestinationConfig } from '../../src/destinations/destination-config.ts';
import { Stats } from '../../src/stats.ts';
import { rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf } from '../helpers/proc.ts';
import type { ChildCommand } from './boards-child.ts';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { WorkerPool } from '../../src/cluster/worker-pool.ts';
import { VerifyOnlyHandler } from './verify-only-handler.ts';

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
  /** CPU the gateway's processes (with its session workers, without rrdtool) used while storing, in cores. */
  gatewayCores: number;
  /** CPU of the gateway's rrdtool processes over the same time, in cores. */
  rrdtoolCores: number;
  /** CPU of the simulated boards' process, in cores. */
  boardsCores: number;
  /** Storm: from the first connect to the last board's update stored. */
  stormSeconds?: number;
  /** Storm: connections the boards had to try again. */
  retries?: number;
}

/** The bench gateway's key material in a storm: fixed, so the boards' keys can be derived before it. */
const BENCH_KEY_MATERIAL = Buffer.alloc(32, 0x5a);

interface ChildAnswer {
  ms: number;
  sentAt?: number[][];
  retries?: number;
  /** Storm: when the first board connected, ms since the epoch. */
  startedAt?: number;
}

function ask(child: ChildProcess, msg: ChildCommand): Promise<ChildAnswer> {
  return new Promise((resolve) => {
    child.once('message', (m: ChildAnswer) => resolve(m));
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
    /** Session worker processes (`serve --workers`); 0: sessions in the gateway's own process. */
    workers?: number;
    /** A reconnect storm: every board connects at once and sends one update; timed until all are stored. */
    storm?: boolean;
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
  /**
   * Per board, when each of its readings came out of the rrd write (paced, precomputed runs), in
   * typed arrays made before the run: this process is the gateway's too, and a growing array per
   * board promoted ~1.7 MB per young collection, which made the gateway's pauses 2× as long.
   */
  const boardOf = new Map(ids.map((id, i) => [id, i]));
  const arrivalAt = new Float64Array(total);
  const arrivalCount = new Int32Array(n);
  let stored = 0;
  let lastStoredAt = 0;
  let measuring = false;
  const now = (): number => performance.timeOrigin + performance.now();
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const stats = new Stats();
  const logger = createLogger('warn');
  const pipeline = options.destinations ? buildDestinations(options.destinations, { dataDir: join(dir, 'data'), logger, stats }) : undefined;
  const built = localGateway({
    stats,
    sink: {
      publish: (r) => {
        pipeline?.publish(r);
        const t = now();
        if (stored < total) latencies[stored] = t - r.timeMs;
        if (measuring) {
          const b = boardOf.get(r.clientId);
          if (b !== undefined && (arrivalCount[b] as number) < perBoard) arrivalAt[b * perBoard + (arrivalCount[b] as number)++] = t;
        }
        stored++;
        lastStoredAt = t;
        if (measuring && stored === total) resolveDone();
      },
      close: () => pipeline?.close() ?? Promise.resolve(),
    } satisfies ReadingSink,
    profilesDir: join(dir, 'profiles'),
    dataDir: join(dir, 'data'),
    logger,
    rrdProcesses: options.rrdProcesses ?? 2,
    maxConnections: n + 100,
    registry: HandlerRegistry.withBuiltins().register(VerifyOnlyHandler),
    now,
    // A storm's boards sign their first line before the clock starts; the gateway still derives every key.
    random: options.storm ? () => Buffer.from(BENCH_KEY_MATERIAL) : undefined,
  });
  const { gateway, backend } = built;
  const workers = options.workers ?? 0;
  const pool = workers > 0
    ? new WorkerPool(backend, fileURLToPath(new URL('../../src/cli/session-worker.js', import.meta.url)), {
      host: '127.0.0.1', port: 0, profilesDir: join(dir, 'profiles'), dataDir: join(dir, 'data'),
      handlerModules: [fileURLToPath(new URL('./verify-only-handler.js', import.meta.url))],
      logLevel: 'warn', logFormat: 'json', maxLineLength: 1024, maxConnections: n + 100, maxUnverifiedPerAddress: 64,
      helloTimeoutMs: 30_000, handshakeTimeoutMs: 30_000, idleTimeoutMs: 7_200_000,
      benchKeyMaterial: options.storm ? BENCH_KEY_MATERIAL.toString('hex') : undefined,
    }, workers, logger)
    : undefined;
  const { port } = pool ? await pool.start() : await gateway.listenTcp('127.0.0.1', 0);
  const cpuNow = (): number => {
    const own = process.cpuUsage();
    return (own.user + own.system) / 1e6 + (pool?.pids ?? []).reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  };
  // Run from dist/ by `npm run bench`: the child is the compiled boards-child.js beside this file.
  const child = fork(fileURLToPath(new URL('./boards-child.js', import.meta.url)), [], { stdio: 'inherit' });
  try {
    if (options.storm) {
      // The boards' rrd files exist, as after any power cut: the storm is of reconnects, not of new boards.
      await ask(child, { cmd: 'connect', port, ids, keys });
      await ask(child, { cmd: 'send', perBoard: 1 });
      while (stored < n) await new Promise((r) => setTimeout(r, 5));
      await ask(child, { cmd: 'drop' });
      await waitFor(() => backend.activeBoards === 0 || pool !== undefined, 10_000, 'the sessions to end');
      await new Promise((r) => setTimeout(r, 500));
      stored = 0;
      measuring = true;
      const start = now();
      const cpuBefore = cpuNow();
      const hs = await ask(child, { cmd: 'connect', port, ids, keys, storm: true, fixedMaterial: [...BENCH_KEY_MATERIAL] });
      await Promise.race([done, new Promise((r) => setTimeout(r, 60_000))]);
      const elapsedS = (lastStoredAt - (hs.startedAt ?? start)) / 1000;
      return {
        boards: n, updates: stored, handshakesPerSec: n / (hs.ms / 1000), updatesPerSec: stored / elapsedS, p50Ms: NaN, p99Ms: NaN,
        rrdErrors: backend.stats.get('errors.E_RRD_COMMAND'), gatewayCores: (cpuNow() - cpuBefore) / elapsedS, rrdtoolCores: NaN, boardsCores: NaN,
        stormSeconds: stored === n ? elapsedS : NaN, retries: hs.retries ?? 0,
      };
    }
    const hs = await ask(child, { cmd: 'connect', port, ids, keys });
    // One update each first, so every rrd file exists before the timed run.
    await ask(child, { cmd: 'send', perBoard: 1 });
    while (stored < n) await new Promise((r) => setTimeout(r, 5));
    stored = 0;
    if (options.precomputed) await ask(child, { cmd: 'prepare', perBoard });
    measuring = true;
    const cpuBefore = cpuNow();
    const othersNow = (): [number, number] => [backend.rrd.pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0), cpuSecondsOf(child.pid as number)];
    const othersBefore = othersNow();
    const start = now();
    const paced = options.paceIntervalMs !== undefined && options.precomputed;
    const sent = await ask(
      child,
      paced ? { cmd: 'paced', intervalMs: options.paceIntervalMs as number }
        : options.paceIntervalMs ? { cmd: 'pace', perBoard, intervalMs: options.paceIntervalMs }
          : options.precomputed ? { cmd: 'blast' } : { cmd: 'send', perBoard },
    );
    await Promise.race([done, new Promise((r) => setTimeout(r, 120_000))]);
    const elapsedS = (lastStoredAt - start) / 1000;
    const gatewayCores = (cpuNow() - cpuBefore) / elapsedS;
    const othersAfter = othersNow();
    const rrdtoolCores = (othersAfter[0] - othersBefore[0]) / elapsedS;
    const boardsCores = (othersAfter[1] - othersBefore[1]) / elapsedS;
    if (paced && sent.sentAt) {
      // From the board's write to the value stored: each board's readings arrive in the order it sent them.
      let k = 0;
      sent.sentAt.forEach((times, i) => {
        const got = arrivalCount[i] as number;
        for (let j = 0; j < Math.min(times.length, got); j++) latencies[k++] = (arrivalAt[i * perBoard + j] as number) - (times[j] as number);
      });
      stored = Math.min(stored, k);
    }
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
      rrdErrors: backend.stats.get('errors.E_RRD_COMMAND'),
      forwardedPerSec,
      gatewayCores,
      rrdtoolCores,
      boardsCores,
    };
  } finally {
    await ask(child, { cmd: 'close' }).catch(() => undefined);
    await pool?.stop();
    await built.close();
    await cleanup();
  }
}
