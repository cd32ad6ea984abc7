import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `rrdtool fetch file LAST` → non-NaN values of the first data source, in time order. */
export async function fetchValues(file: string, seconds = 600, cf = 'LAST'): Promise<number[]> {
  const { stdout } = await run('rrdtool', ['fetch', file, cf, '--start', `-${seconds}`, '--end', 'now']);
  return stdout
    .split('\n')
    .filter((l) => /^\d+:/.test(l))
    .map((l) => Number((l.split(':')[1] ?? '').trim().split(/\s+/)[0]))
    .filter((v) => !Number.isNaN(v));
}

export async function lastUpdate(file: string): Promise<string> {
  const { stdout } = await run('rrdtool', ['lastupdate', file]);
  return stdout;
}
