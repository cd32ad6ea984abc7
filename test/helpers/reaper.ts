import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by test/global-setup.ts for the whole run: where started real parts are written down. */
export const REAPER_ENV = 'RRDUINO_TEST_REAPER_DIR';

/**
 * Writes down a real part a test started (carbon-cache, rrdcached, socat, simavr, a gateway), so
 * that the run's teardown stops it even when the test and its hooks timed out before they could.
 */
export function trackProcess(child: ChildProcess): void {
  const dir = process.env[REAPER_ENV];
  if (dir === undefined || child.pid === undefined) return;
  try {
    writeFileSync(join(dir, String(child.pid)), commandOf(child.pid));
  } catch {
    // The run's teardown is a safety net; a test must not fail for it.
  }
}

/** Stops every part written down that is still running the same command; answers what it stopped. */
export function reapAll(dir: string): string[] {
  const stopped: string[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync(dir);
  } catch {
    return stopped;
  }
  for (const pid of pids) {
    const recorded = readFileSync(join(dir, pid), 'utf8');
    if (recorded === '' || commandOf(Number(pid)) !== recorded) continue; // gone, or the pid was reused
    try {
      process.kill(Number(pid), 'SIGKILL');
      stopped.push(`${pid} ${recorded.split('\0')[0] ?? ''}`);
    } catch {
      // Gone meanwhile.
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return stopped;
}

export function makeReaperDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
