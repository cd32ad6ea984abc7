import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/repo.ts';

/** Every .ts file below `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);

/** Every module a file loads: static imports, re-exports and dynamic `import('…')`, resolved to repository paths. */
function dependenciesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^(?:import|export)\b[^'";]*?['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/gm)].map((m) => (m[1] ?? m[2]) as string);
  return specs.map((spec) => relative(REPO_ROOT, join(dirname(file), spec)));
}

/**
 * The floors of src/, foundation first. A module may load modules of its own floor and of the
 * floors below it; an import of a higher floor runs back up the flow
 * (transport → session → handler → backend → delivery → destinations, with the status page and
 * the session workers reading the backend, and the CLI composing everything). Contracts between
 * layers have a floor of their own, low, so that both sides of a seam may name them.
 */
const FLOORS: ReadonlyArray<readonly [floor: string, paths: readonly string[]]> = [
  ['foundation', ['src/errors.ts', 'src/stats.ts', 'src/backoff.ts', 'src/log-limiter.ts', 'src/logger.ts', 'src/validation.ts', 'src/version.ts', 'src/data-dir.ts', 'src/coalesced-task.ts', 'src/config/', 'src/clock/']],
  ['contracts', ['src/reading.ts', 'src/link.ts', 'src/backend/backend.ts', 'src/rrd/rrd-store.ts', 'src/delivery/sender.ts', 'src/delivery/metric-point.ts', 'src/delivery/point-buffer.ts', 'src/handlers/handler-description.ts']],
  ['protocol', ['src/protocol/']],
  ['rrd', ['src/rrd/']],
  ['delivery', ['src/delivery/']],
  ['destinations', ['src/destinations/']],
  ['transport', ['src/transport/']],
  ['handlers', ['src/handlers/']],
  ['profiles', ['src/profiles/']],
  ['backend', ['src/backend/']],
  ['session', ['src/board-session.ts']],
  ['session host', ['src/gateway.ts']],
  ['session workers', ['src/cluster/']],
  ['status page', ['src/status/']],
  ['composition', ['src/cli/', 'src/index.ts', 'server.ts']],
];

/** A file's floor: the most specific entry that names it (a file before its folder). */
function floorOf(file: string): number {
  let best: { floor: number; length: number } | undefined;
  FLOORS.forEach(([, paths], floor) => {
    for (const p of paths) {
      const hit = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (hit && (best === undefined || p.length > best.length)) best = { floor, length: p.length };
    }
  });
  return best?.floor ?? -1;
}

/** The floors with their files, and every import that runs back up. */
function layout(): { floors: string[]; unplaced: string[]; upward: string[] } {
  const files = [...sources(join(REPO_ROOT, 'src')), join(REPO_ROOT, 'server.ts')].map((f) => relative(REPO_ROOT, f)).sort();
  const floors = FLOORS.map(([name], i) => `${i} ${name}: ${files.filter((f) => floorOf(f) === i).length} files`);
  const unplaced = files.filter((f) => floorOf(f) < 0);
  const upward: string[] = [];
  for (const f of files) {
    for (const dep of dependenciesOf(join(REPO_ROOT, f))) {
      if (floorOf(dep) > floorOf(f)) upward.push(`${f} (${FLOORS[floorOf(f)]?.[0]}) → ${dep} (${FLOORS[floorOf(dep)]?.[0]})`);
    }
  }
  return { floors, unplaced, upward };
}

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

  it('no import runs back up the flow: every module loads only its own floor and those below', () => {
    const l = layout();
    // `ARCHITECTURE_LISTING=1 npx vitest run test/architecture.test.ts` prints the floors and the arrows.
    if (process.env['ARCHITECTURE_LISTING']) console.log([...l.floors, 'upward:', ...l.upward, 'unplaced:', ...l.unplaced].join('\n'));
    expect(l.unplaced, 'every file of src/ has a floor').toEqual([]);
    expect(l.upward).toEqual([]);
  });

  it('nothing under src/status/ or src/cluster/ loads the session host (src/gateway.ts): they read the backend', () => {
    const offenders = [...sources(join(REPO_ROOT, 'src/status')), ...sources(join(REPO_ROOT, 'src/cluster'))]
      .filter((f) => dependenciesOf(f).includes('src/gateway.ts'))
      .map((f) => relative(REPO_ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('outside src/handlers/ only the public API and the create command load the rrduino handler: the rest asks a handler to describe itself', () => {
    const allowed = new Set(['src/index.ts', 'src/profiles/create-profile.ts']);
    const offenders = [...sources(join(REPO_ROOT, 'src')), join(REPO_ROOT, 'server.ts')]
      .map((f) => relative(REPO_ROOT, f))
      .filter((f) => !f.startsWith('src/handlers/') && !allowed.has(f))
      .filter((f) => dependenciesOf(join(REPO_ROOT, f)).includes('src/handlers/rrduino-handler.ts'));
    expect(offenders).toEqual([]);
  });

  it('nothing in the repository reads outside its own checkout', () => {
    const offenders = [...sources(join(REPO_ROOT, 'src')), ...sources(join(REPO_ROOT, 'test')), ...sources(join(REPO_ROOT, 'firmware-sim')), join(REPO_ROOT, 'server.ts')]
      .filter((f) => /\.\.\/shared\b/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
      .map((f) => relative(REPO_ROOT, f));
    expect(offenders).toEqual([]);
  });
});
