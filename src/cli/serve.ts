import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LevelWithSilent } from 'pino';
import { LocalBackend } from '../backend/local-backend.ts';
import { Gateway } from '../gateway.ts';
import { logStaleProfile, ProfileStore } from '../profiles/profile-store.ts';
import { HandlerRegistry } from '../handlers/handler-registry.ts';
import { createServiceLogger, type LogFormat, type Logger } from '../logger.ts';
import { coalescedTask } from '../coalesced-task.ts';
import { errorCode, errorMessage } from '../errors.ts';
import type { DestinationConfig } from '../destinations/destination-config.ts';
import { Stats } from '../stats.ts';
import { claimDataDir } from '../data-dir.ts';
import { ReloadableSink } from '../delivery/reloadable-sink.ts';
import type { DestinationSet } from '../delivery/destination-set.ts';
import { parseHttpAddress } from '../status/http-address.ts';

export interface ServeOptions {
  host: string;
  port: number;
  profiles: string;
  data: string;
  logLevel: LevelWithSilent;
  logFormat: LogFormat;
  rrdProcesses: number;
  /** Session worker processes for TCP boards (0: the boards are served in this process). */
  workers: number;
  maxLineLength: number;
  maxConnections: number;
  maxUnverifiedPerAddress: number;
  helloTimeout: number;
  handshakeTimeout: number;
  idleTimeout: number;
  handlers: string[];
  statsInterval: number;
  /** Seconds between the gateway's own counters going to the Graphite destinations (0: never). */
  gatewayMetricsInterval: number;
  /** Serial devices: `path[:baud]` from flags, or from the config file with a look-ahead. */
  serial: Array<{ path: string; baudRate: number; lookahead?: number }>;
  serialLookahead?: number;
  /** From the config file's `destinations`, already validated. */
  destinations?: DestinationConfig[];
  /** rrdcached's address (`unix:/path` or `host:port`); updates go through it. */
  rrdcached?: string;
  /** The status page, `/metrics` and `/healthz`: `host:port`, or `off`. */
  http: string;
  /** Reads the destinations again for SIGHUP (from the config file); without it SIGHUP reloads profiles only. */
  rereadDestinations?: () => Promise<DestinationConfig[]>;
}

/** A gateway started by {@link startGateway}: the session host and the backend it reports to. */
export interface RunningGateway {
  readonly gateway: Gateway;
  readonly backend: LocalBackend;
  readonly logger: Logger;
  /** Graceful stop: the sessions finish, then the backend (rrd files, destinations), then the data dir is let go. */
  close(): Promise<void>;
}

/** Builds and starts a gateway from CLI options; logs invalid profiles but serves the rest. */
export async function startGateway(o: ServeOptions): Promise<RunningGateway> {
  if (o.http !== 'off') parseHttpAddress(o.http); // a bad address is a usage error before anything starts
  const logger = await createServiceLogger(o.logLevel, o.logFormat);
  const registry = HandlerRegistry.withBuiltins();
  for (const file of o.handlers) {
    const added = await registry.loadModule(file);
    logger.info({ file, handlers: added }, 'loaded handler module');
  }
  const dataDir = resolve(o.data);
  const releaseDataDir = await claimDataDir(dataDir);
  const stats = new Stats();
  const build = async (destinations: readonly DestinationConfig[]): Promise<() => DestinationSet | undefined> => {
    if (destinations.length === 0) return () => undefined;
    // Loaded only when used: the destination code (http, tls, codecs) is memory a plain gateway need not carry.
    const { buildDestinations, destinationName } = await import('../destinations/destination-config.ts');
    return () => {
      logger.info({ destinations: destinations.map(destinationName) }, 'destinations');
      return buildDestinations(destinations, { dataDir, logger, stats });
    };
  };
  const sink = new ReloadableSink((await build(o.destinations ?? []))());
  const profiles = new ProfileStore(resolve(o.profiles), registry, logStaleProfile(logger));
  const backend = new LocalBackend({ logger, stats, dataDir, profiles, rrdProcesses: o.rrdProcesses, rrdcached: o.rrdcached, sink });
  const gateway = new Gateway({
    profiles,
    dataDir,
    logger,
    backend,
    maxLineLength: o.maxLineLength,
    maxConnections: o.maxConnections,
    maxUnverifiedPerAddress: o.maxUnverifiedPerAddress,
    helloTimeoutMs: o.helloTimeout * 1000,
    limits: {
      handshakeTimeoutMs: o.handshakeTimeout * 1000,
      idleTimeoutMs: o.idleTimeout * 1000,
    },
  });
  const running: RunningGateway = {
    gateway,
    backend,
    logger,
    close: async () => {
      await gateway.close();
      await backend.close();
      await releaseDataDir();
      logger.info({ stats: stats.snapshot() }, 'gateway stopped');
    },
  };
  // Boards are served first; each profile is read at its board's hello. The whole directory is
  // checked after listening, so 10,000 profiles do not hold up the start (`check` is complete).
  await gateway.profiles.readable();
  if (o.workers > 0) await startWorkers(gateway, backend, o, logger);
  else await gateway.listenTcp(o.host, o.port);
  void gateway.scanProfiles().then(
    (profiles) => {
      logger.info({ boards: profiles.length <= 50 ? profiles.map((p) => p.clientId) : `${profiles.length} boards`, dir: gateway.profiles.dir, dataDir }, `${profiles.length} profile(s) loaded`);
    },
    (err: unknown) => logger.error({ code: errorCode(err) }, errorMessage(err)),
  );
  if (o.http !== 'off') await startStatusPage(gateway, backend, o.http, sink, logger);
  if (o.gatewayMetricsInterval > 0) {
    const { reportGatewayMetrics } = await import('../status/gateway-metrics.ts');
    const stop = reportGatewayMetrics(stats, o.gatewayMetricsInterval, (points) => sink.publishToKind('graphite', points));
    gateway.onClose(() => Promise.resolve(stop()));
  }
  reloadOnHangup(gateway, backend, logger, async () => {
    if (o.rereadDestinations) await sink.replace(await build(await o.rereadDestinations()));
  });
  for (const spec of o.serial) gateway.attachSerial({ ...spec, lookahead: spec.lookahead ?? o.serialLookahead });
  if (o.statsInterval > 0) {
    const timer = setInterval(
      () => logger.info({ stats: stats.snapshot(), boards: backend.activeBoards, rssMB: Math.round(process.memoryUsage().rss / 1e6) }, 'stats'),
      o.statsInterval * 1000,
    );
    timer.unref();
    gateway.onClose(() => {
      clearInterval(timer);
      return Promise.resolve();
    });
  }
  return running;
}

/**
 * `--workers N`: N processes serve the TCP boards (framing, sessions, HMACs, handlers) on the
 * shared port; this process keeps the rrd files, destinations, board table and status page.
 */
async function startWorkers(gateway: Gateway, backend: LocalBackend, o: ServeOptions, logger: Logger): Promise<void> {
  const { WorkerPool } = await import('../cluster/worker-pool.ts');
  const pool = new WorkerPool(
    backend,
    fileURLToPath(new URL('./session-worker.js', import.meta.url)),
    {
      host: o.host,
      port: o.port,
      profilesDir: gateway.profiles.dir,
      dataDir: gateway.dataDir,
      handlerModules: o.handlers.map((f) => resolve(f)),
      logLevel: o.logLevel,
      logFormat: o.logFormat,
      maxLineLength: o.maxLineLength,
      maxConnections: Math.ceil(o.maxConnections / o.workers),
      maxUnverifiedPerAddress: o.maxUnverifiedPerAddress,
      helloTimeoutMs: o.helloTimeout * 1000,
      handshakeTimeoutMs: o.handshakeTimeout * 1000,
      idleTimeoutMs: o.idleTimeout * 1000,
    },
    o.workers,
    logger,
  );
  // Registered before anything that outlives it: the workers' last updates need the rrd files.
  gateway.onClose(() => pool.stop());
  const address = await pool.start();
  logger.info({ host: address.host, port: address.port, workers: o.workers }, 'listening for boards over TCP');
}

/**
 * The status page. Boards come first: when its port cannot be had, the gateway says so
 * loudly and goes on without it; a port that is only taken for now is tried again until it
 * is free.
 */
async function startStatusPage(gateway: Gateway, backend: LocalBackend, address: string, sink: ReloadableSink, logger: Logger): Promise<void> {
  const { StatusServer } = await import('../status/status-server.ts');
  const { listenWithRetry } = await import('../status/listen-retry.ts');
  const { VERSION } = await import('../version.ts');
  const server = new StatusServer({ backend, destinations: () => sink.statuses, logger, version: VERSION });
  const { host, port } = parseHttpAddress(address);
  const fix = 'Free the port, or set --http to another host:port (or off)';
  const retry = await listenWithRetry({
    listen: () => server.listen(host, port),
    onBound: (bound, attempts) =>
      logger.info({ url: `http://${bound.address}:${bound.port}/`, attempts }, 'status page, /metrics and /healthz'),
    onWait: (err, delayMs, attempt) => {
      // The first miss is what an operator must see; the retries after it are noise.
      const level = attempt === 0 ? 'error' : 'debug';
      logger[level](
        { code: 'E_HTTP', address, retryInMs: delayMs },
        `cannot serve the status page on ${address} yet: ${errorMessage(err)}; boards are served without it and the gateway tries again. ${fix}; scripts/systemd/60-rrduino-gateway.conf reserves the gateway's ports`,
      );
    },
    onGiveUp: (err) =>
      logger.error({ code: 'E_HTTP', address }, `cannot serve the status page on ${address}: ${errorMessage(err)}; boards are served without it. ${fix}`),
  });
  gateway.onClose(async () => {
    retry.stop();
    await server.close();
  });
}

/**
 * SIGHUP reloads the profiles (each board's next hello uses its new profile) and the
 * destinations; boards stay connected. A config that does not load leaves everything as it
 * was, with the error logged. Other options take a restart.
 */
function reloadOnHangup(gateway: Gateway, backend: LocalBackend, logger: Logger, reloadDestinations: () => Promise<void>): void {
  // A SIGHUP during a reload is not dropped: it makes one more reload after it.
  const reload = coalescedTask(async () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading profiles and destinations');
    try {
      const profiles = await gateway.scanProfiles();
      await reloadDestinations();
      logger.info({ boards: profiles.map((p) => p.clientId), connected: backend.activeBoards }, `reloaded: ${profiles.length} profile(s)`);
    } catch (err) {
      logger.error({ code: errorCode(err) }, `reload failed, keeping what was running: ${errorMessage(err)}`);
    }
  });
  const onHangup = (): void => void reload();
  process.on('SIGHUP', onHangup);
  gateway.onClose(() => Promise.resolve(void process.off('SIGHUP', onHangup)));
}

/** Stops gracefully on the first SIGINT/SIGTERM; a second one exits at once. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight updates');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
