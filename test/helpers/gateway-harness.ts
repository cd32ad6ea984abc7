import { join } from 'node:path';
import { Gateway, type GatewayOptions } from '../../src/gateway.ts';
import type { Reading } from '../../src/reading.ts';
import { tempDir, memoryLogger, writeProfileFile, rrduinoProfile } from './fixtures.ts';

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
): Promise<Harness> {
  const { dir, cleanup } = await tempDir();
  const profilesDir = join(dir, 'profiles');
  const dataDir = join(dir, 'data');
  for (const [id, p] of Object.entries(profiles)) await writeProfileFile(profilesDir, id, p);
  const logs = memoryLogger();
  const readings: Reading[] = [];
  const gateway = new Gateway({
    profilesDir,
    dataDir,
    logger: logs.logger,
    onReading: (r) => readings.push(r),
    ...options,
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
