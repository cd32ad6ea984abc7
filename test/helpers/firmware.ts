import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll } from 'vitest';
import { buildHostTool } from '../../firmware-sim/firmware-build.ts';
import { tempDir } from './fixtures.ts';
import { trackProcess } from './reaper.ts';

/** Runs a line-command tool (firmware-sim/host/kat-tool.cpp): every line in, one line out each. */
export async function askTool(exe: string, commands: readonly string[]): Promise<string[]> {
  const proc = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  trackProcess(proc);
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stdin.end(commands.map((c) => `${c}\n`).join(''));
  const [code] = (await once(proc, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${exe} exited with ${code}`);
  return out.split('\n').slice(0, commands.length);
}

/** The config.h a user writes for a sketch, from the lines `create` prints and the rest. */
export function configHeader(lines: string, defines: Readonly<Record<string, string>>): string {
  return `${lines}${Object.entries(defines).map(([k, v]) => `#define ${k} ${v}\n`).join('')}`;
}

/** Builds a host tool of firmware-sim/host/ once for the test file (in a temp dir removed after); returns its path getter. */
export function hostToolForFile(name: 'kat-tool' | 'session-tool'): () => string {
  let tool = '';
  let cleanup: () => Promise<void> = () => Promise.resolve();
  beforeAll(async () => {
    const t = await tempDir(`rrduino-${name}-`);
    cleanup = t.cleanup;
    tool = await buildHostTool(name, t.dir);
  }, 120_000);
  afterAll(() => cleanup());
  return () => tool;
}
