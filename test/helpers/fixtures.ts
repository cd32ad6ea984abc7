import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.ts';

/** A temp directory removed by `cleanup`. */
export async function tempDir(prefix = 'rrduino-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger that keeps every JSON line, to assert on codes and on what is never logged. */
export function memoryLogger(level: 'trace' | 'debug' | 'info' | 'warn' = 'trace'): { logger: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (!l) continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: createLogger(level, sink), lines, text: () => raw.join('\n') };
}

export const EXAMPLE_KEY = 'secret123';

/** A profile in the style of profiles/example.json with a 1 s step. */
export function rrduinoProfile(key = EXAMPLE_KEY, sources = ['temperature']): object {
  return {
    key,
    handler_options: {
      path: 'board.rrd',
      create: ['--step', '1', ...sources.map((s) => `DS:${s}:GAUGE:600:-100:1000`), 'RRA:LAST:0.5:1:3600'],
      update: `N:${sources.map((s) => `{${s}}`).join(':')}`,
    },
  };
}

export async function writeProfileFile(dir: string, clientId: string, profile: object): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${clientId}.json`);
  await writeFile(file, JSON.stringify(profile));
  return file;
}

/** Polls `check` until it is true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Waits until the wall clock is in a later second than now: a reading sent after this gets a
 * later rrd stamp than one already stored (an rrd file keeps one value per second).
 */
export async function nextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  await waitFor(() => Math.floor(Date.now() / 1000) > second, 5_000, 'the next second');
}

/** A loopback port that was free a moment ago (for servers started as separate processes). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Sends SIGTERM (or `signal`) to a child process and resolves when it has exited. */
export async function stopProcess(proc: import('node:child_process').ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  // A part that does not stop on its signal is killed: a hook must not wait for it forever.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A loopback source address of its own for simulated board `i` (127.1.x.y), as real boards
 * have: the gateway limits unverified connections per address, so a benchmark's thousand
 * boards must not all come from 127.0.0.1.
 */
export function boardAddress(i: number): string {
  return `127.1.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`;
}
