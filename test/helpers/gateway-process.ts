import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DestinationConfig } from '../../src/destinations/destination-config.ts';
import { freePort, rrduinoProfile, waitFor, writeProfileFile } from './fixtures.ts';
import { RawClient } from './raw-client.ts';
import { REPO_ROOT, SERVER_JS } from './repo.ts';
import { trackProcess } from './reaper.ts';

/** `node dist/server.js <args>` as users run it, resolved once it accepts boards on `port`. */
export async function spawnGateway(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SERVER_JS, ...args], { stdio: 'ignore' });
  trackProcess(child);
  await waitFor(async () => RawClient.open(port).then((c) => (c.destroy(), true), () => false), 15_000, 'gateway up');
  return child;
}

/** `node dist/server.js <args>` from the repository root, keeping what it writes on stdout (its log). */
export function runGateway(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess & { stdout: NodeJS.ReadableStream }; output: () => string } {
  const child = spawn(process.execPath, [SERVER_JS, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  trackProcess(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

/**
 * A config file for a gateway process in `dir`: profile `example`, a free loopback port,
 * data under `dir/data`, and these destinations.
 */
export async function writeGatewayConfig(dir: string, destinations: DestinationConfig[]): Promise<{ config: string; port: number; data: string }> {
  const profiles = join(dir, 'profiles');
  await writeProfileFile(profiles, 'example', rrduinoProfile());
  const data = join(dir, 'data');
  const port = await freePort();
  const config = join(dir, 'gateway.json');
  await writeFile(config, JSON.stringify({ host: '127.0.0.1', port, profiles, data, logLevel: 'warn', http: '127.0.0.1:0', destinations }));
  return { config, port, data };
}
