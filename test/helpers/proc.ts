import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11], stime [12]). */
export function statFields(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
}

/** CPU seconds (user + system) a process has used (clock ticks of 10 ms). */
export function cpuSecondsOf(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Pids of the running processes whose command line and parent pass `match`. */
export async function processes(match: (p: { cmdline: string; ppid: number }) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    let ppid = -1;
    try {
      ppid = Number(statFields(Number(entry))[1]);
    } catch {
      continue; // gone meanwhile
    }
    if (match({ cmdline, ppid })) pids.push(Number(entry));
  }
  return pids;
}
