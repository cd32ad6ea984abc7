import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, from test/ sources or from their compiled copies in dist/test/. */
export const REPO_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
})();
/** The CLI as users run it: compiled JavaScript (`npm run build`). */
export const SERVER_JS = resolve(REPO_ROOT, 'dist/server.js');
/** The known-answer vectors (docs/protocol.md, docs/graphite.md, docs/dalmatinerdb.md, docs/gottwall.md). */
export const VECTORS_DIR = resolve(REPO_ROOT, 'test/vectors');

/** Loads one known-answer file. */
export function loadKat<T>(name: `${string}-kat.json`): T {
  return JSON.parse(readFileSync(resolve(VECTORS_DIR, name), 'utf8')) as T;
}
