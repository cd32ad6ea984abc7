import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './fixtures.ts';
import { RawClient } from './raw-client.ts';
import { SERVER_JS } from './repo.ts';

/** `node dist/server.js <args>` as users run it, resolved once it accepts boards on `port`. */
export async function spawnGateway(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SERVER_JS, ...args], { stdio: 'ignore' });
  await waitFor(async () => RawClient.open(port).then((c) => (c.destroy(), true), () => false), 15_000, 'gateway up');
  return child;
}
