import { join } from 'node:path';
import type { Logger } from 'pino';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { LocalBackend, type LocalBackendOptions } from '../../src/backend/local-backend.ts';
import { Gateway, type GatewayOptions } from '../../src/gateway.ts';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { logStaleProfile, ProfileStore } from '../../src/profiles/profile-store.ts';
import type { Reading, ReadingSink } from '../../src/reading.ts';
import { buildDestinations, type DestinationConfig } from '../../src/destinations/destination-config.ts';
import { Stats } from '../../src/stats.ts';
import { EXAMPLE_KEY, tempDir, memoryLogger, writeProfileFile, rrduinoProfile } from './fixtures.ts';
import { RawClient } from './raw-client.ts';

export interface Harness {
  gateway: Gateway;
  /** What the gateway reports to: rrd files, board table, counters, destinations. */
  backend: LocalBackend;
  port: number;
  dir: string;
  profilesDir: string;
  dataDir: string;
  readings: Reading[];
  logs: ReturnType<typeof memoryLogger>;
  close: () => Promise<void>;
}

/** What a test may set: the gateway's options, the backend's, and the handler classes. */
export type HarnessOptions = Partial<Omit<GatewayOptions, 'profiles' | 'backend' | 'dataDir' | 'logger'>> &
  Partial<Pick<LocalBackendOptions, 'stats' | 'sink' | 'rrdProcesses' | 'rrdtool' | 'rrdcached'>> & { registry?: HandlerRegistry };

/** A gateway and the local backend it reports to, built as `serve` builds them. */
export function localGateway(o: HarnessOptions & { profilesDir: string; dataDir: string; logger: Logger }): { gateway: Gateway; backend: LocalBackend; close: () => Promise<void> } {
  const { stats, sink, rrdProcesses, rrdtool, rrdcached, registry, profilesDir, dataDir, logger, ...gatewayOptions } = o;
  const profiles = new ProfileStore(profilesDir, registry ?? HandlerRegistry.withBuiltins(), logStaleProfile(logger));
  const backend = new LocalBackend({ logger, dataDir, profiles, stats, rrdProcesses, rrdtool, rrdcached, sink });
  const gateway = new Gateway({ profiles, dataDir, logger, backend, ...gatewayOptions });
  return {
    gateway,
    backend,
    // The backend closes the sink too (destinations write their queues to the spool).
    close: async () => {
      await gateway.close();
      await backend.close();
    },
  };
}

/** A gateway on 127.0.0.1:<free port> with temp dirs, real rrdtool, and one profile per entry. */
export async function startHarness(
  profiles: Record<string, object> = { example: rrduinoProfile() },
  options: HarnessOptions & { dataDir?: string } = {},
  logs = memoryLogger(),
): Promise<Harness> {
  const { dir, cleanup } = await tempDir();
  const profilesDir = join(dir, 'profiles');
  const dataDir = options.dataDir ?? join(dir, 'data');
  for (const [id, p] of Object.entries(profiles)) await writeProfileFile(profilesDir, id, p);
  const readings: Reading[] = [];
  const built = localGateway({ ...options, profilesDir, dataDir, logger: logs.logger, sink: recordingSink(readings, options.sink) });
  const { gateway, backend } = built;
  const { port } = await gateway.listenTcp('127.0.0.1', 0);
  return {
    gateway,
    backend,
    port,
    dir,
    profilesDir,
    dataDir,
    readings,
    logs,
    close: async () => {
      await built.close();
      await cleanup();
    },
  };
}

/**
 * A gateway (profile `example`, sources temperature and humidity) whose readings go to
 * `destinations`. Its clock starts `clockStartAgoS` (default 600) seconds back and steps
 * one second per reading, so each reading has its own one-second slot downstream
 * (carbon's test schema keeps an hour of seconds, so stay within it).
 */
export async function startHarnessWithDestinations(destinations: DestinationConfig[], spoolRoot: string, clockStartAgoS = 600): Promise<Harness> {
  const stats = new Stats();
  const logs = memoryLogger();
  let clock = Math.floor(Date.now() / 1000) * 1000 - clockStartAgoS * 1000;
  const profile = rrduinoProfile(EXAMPLE_KEY, ['temperature', 'humidity']) as { handler_options: { create: string[] } };
  profile.handler_options.create.unshift('--start', String(clock / 1000 - 10)); // the rrd accepts the past-dated clock
  const sink = buildDestinations(destinations, { dataDir: spoolRoot, logger: logs.logger, stats });
  return startHarness({ example: profile }, { stats, sink, now: () => (clock += 1000) }, logs);
}

/** A sink that keeps every reading the gateway hands over, then passes it on to `inner`. */
export function recordingSink(readings: Reading[], inner?: ReadingSink): ReadingSink {
  return {
    publish(reading) {
      inner?.publish(reading);
      readings.push(reading);
    },
    close: () => inner?.close() ?? Promise.resolve(),
  };
}

/** A raw TCP board that has said hello and derived its key, ready to sign. */
export async function helloBoard(port: number, clientId = 'example', key = EXAMPLE_KEY): Promise<{ c: RawClient; board: BoardProtocol }> {
  const c = await RawClient.open(port);
  const board = new BoardProtocol(clientId, key);
  c.send(board.helloLine());
  board.acceptKeyMaterial(await c.read(32));
  return { c, board };
}
