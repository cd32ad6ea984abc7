import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseLastUpdate } from '../../src/rrd/rrd-command.ts';
import { whileLocked } from '../../src/rrd/rrd-service.ts';

const exec = promisify(execFile);

/** Runs rrdtool to read a file the gateway may be writing at that moment (see whileLocked). */
export function readRrd(args: string[]): Promise<{ stdout: string }> {
  return whileLocked(() => exec('rrdtool', args));
}

/**
 * `rrdtool fetch file LAST` → non-NaN values of the first data source, in time order: the last
 * `seconds` before now, or the range `[start, end]` (Unix seconds) where a test stamped its own.
 */
export async function fetchValues(file: string, seconds: number | { start: number; end: number } = 600, cf = 'LAST'): Promise<number[]> {
  const range = typeof seconds === 'number' ? ['--start', `-${seconds}`, '--end', 'now'] : ['--start', String(seconds.start), '--end', String(seconds.end)];
  const { stdout } = await readRrd(['fetch', file, cf, ...range]);
  return stdout
    .split('\n')
    .filter((l) => /^\d+:/.test(l))
    .map((l) => Number((l.split(':')[1] ?? '').trim().split(/\s+/)[0]))
    .filter((v) => !Number.isNaN(v));
}

export async function lastUpdate(file: string): Promise<string> {
  const { stdout } = await readRrd(['lastupdate', file]);
  return stdout;
}

/** `rrdtool lastupdate`: the time of the last update and each data source's value as rrdtool prints it ('U' unknown); undefined while there is no file. */
export async function lastUpdateValues(file: string): Promise<{ time: number; values: Partial<Record<string, string>> } | undefined> {
  const out = await readRrd(['lastupdate', file]).catch(() => undefined);
  const last = out && parseLastUpdate(out.stdout.split('\n'));
  return last && { time: last.time.getTime() / 1000, values: last.values };
}
