import { join } from 'node:path';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { Gateway, type GatewayOptions } from '../../src/gateway.ts';
import type { Reading, ReadingSink } from '../../src/reading.ts';
import { buildDestinations, type DestinationConfig } from '../../src/destinations/destination-config.ts';
import { Stats } from '../../src/stats.ts';
import { EXAMPLE_KEY, tempDir, memoryLogger, writeProfileFile, rrduinoProfile } from './fixtures.ts';
import { RawClient } from './raw-client.ts';

export interface Harness {
  gateway: Gateway;
  port: number;
  dir: string;
  profilesDir: string;
  dataDir: string;
  readings: Reading[];
  logs: ReturnType<typeof memoryLogger>;
  close: () => Promise<void>;
}

/** A gateway on 127.0.0.1:<free port> with temp dirs, real rrdtool, and one profile per entry. */
export async function startHarness(
  profiles: Record<string, object> = { example: rrduinoProfile() },
  options: Partial<GatewayOptions> = {},
  logs = memoryLogger(),
): Promise<Harness> {
  const { dir, cleanup } = await tempDir();
  const profilesDir = join(dir, 'profiles');
  const dataDir = join(dir, 'data');
  for (const [id, p] of Object.entries(profiles)) await writeProfileFile(profilesDir, id, p);
  const readings: Reading[] = [];
  const gateway = new Gateway({
    profilesDir,
    dataDir,
    logger: logs.logger,
    ...options,
    sink: recordingSink(readings, options.sink),
  });
  const { port } = await gateway.listenTcp('127.0.0.1', 0);
  return {
    gateway,
    port,
    dir,
    profilesDir,
    dataDir,
    readings,
    logs,
    close: async () => {
      await gateway.close();
      await cleanup();
    },
    // The gateway closes options.sink too (destinations write their queues to the spool).
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
