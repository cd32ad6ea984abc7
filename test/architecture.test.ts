import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/repo.ts';

/** Every .ts file below `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);

describe('layering: data flows one way', () => {
  it('nothing in protocol/, rrd/, delivery/ or destinations/ imports the session, the gateway, transports, handlers or the CLI', () => {
    const upstream = /(board-session|gateway|server)\.ts$|\/(cli|transport|handlers)\//;
    const offenders: string[] = [];
    for (const dir of ['protocol', 'rrd', 'delivery', 'destinations']) {
      for (const file of sources(join(REPO_ROOT, 'src', dir))) {
        for (const spec of importsOf(file)) if (upstream.test(spec)) offenders.push(`${relative(REPO_ROOT, file)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('nothing in the repository reads outside its own checkout', () => {
    const offenders = [...sources(join(REPO_ROOT, 'src')), ...sources(join(REPO_ROOT, 'test')), ...sources(join(REPO_ROOT, 'firmware-sim')), join(REPO_ROOT, 'server.ts')]
      .filter((f) => /\.\.\/shared\b/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
      .map((f) => relative(REPO_ROOT, f));
    expect(offenders).toEqual([]);
  });
});
