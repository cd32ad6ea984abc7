import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, rrduinoProfile, stopProcess, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { spawnGateway } from '../helpers/gateway-process.ts';
import { REPO_ROOT } from '../helpers/repo.ts';

// firmware-sim as a new user runs it: a board keeps trying until a gateway is there.

const SIM_JS = join(REPO_ROOT, 'dist', 'firmware-sim', 'cli.js');
let dir: string;
let cleanup: () => Promise<void>;
const procs: ChildProcess[] = [];

beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  for (const p of procs.splice(0)) await stopProcess(p);
  await cleanup();
});

function sim(args: string[]): { proc: ChildProcess; out: () => string; startedAt: number } {
  const proc = spawn(process.execPath, [SIM_JS, '--id', 'example', '--key', 'secret123', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, out: () => out, startedAt: Date.now() };
}

const count = (text: string, what: RegExp): number => text.match(new RegExp(what.source, 'g'))?.length ?? 0;

async function gatewayOn(port: number): Promise<ChildProcess> {
  const profiles = join(dir, 'profiles');
  await writeProfileFile(profiles, 'example', rrduinoProfile());
  const g = await spawnGateway(['serve', '--http', '127.0.0.1:0', '--profiles', profiles, '--data', join(dir, 'data'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], port);
  procs.push(g);
  return g;
}

describe('firmware-sim cli', { timeout: 30_000 }, () => {
  it('keeps reconnecting while no gateway listens, and connects once one does', async () => {
    const port = await freePort();
    const s = sim(['--port', String(port), '--reconnect', '100', '--interval', '300']);
    await waitFor(() => count(s.out(), /reconnecting in 100 ms/) >= 3, 10_000, 'three reconnect attempts');
    expect(s.proc.exitCode).toBeNull();
    await gatewayOn(port);
    await waitFor(() => s.out().includes('session key derived'), 10_000, 'a session once the gateway is up');
  });

  it('keeps retrying a serial port that does not exist', async () => {
    const s = sim(['--serial', join(dir, 'ttyNOPE'), '--reconnect', '100']);
    await waitFor(() => count(s.out(), /reconnecting in 100 ms/) >= 3, 10_000, 'three reopen attempts');
    expect(s.proc.exitCode).toBeNull();
  });

  it('takes --derive-delay between the key material and the first update, like a real board', async () => {
    const port = await freePort();
    await gatewayOn(port);
    const s = sim(['--port', String(port), '--derive-delay', '1500', '--interval', '60000']);
    await waitFor(() => s.out().includes('session key derived'), 10_000, 'the session');
    expect(Date.now() - s.startedAt).toBeGreaterThanOrEqual(1500);
    await waitFor(() => s.out().includes('u temperature'), 5000, 'the first update');
  });
});
