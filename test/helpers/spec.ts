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
/** `../shared/spec/` beside the checkout: the authority on wire formats. */
export const SPEC_DIR = resolve(REPO_ROOT, '../shared/spec');

/** Loads one known-answer file from the shared spec. */
export function loadKat<T>(name: `${string}-kat.json`): T {
  return JSON.parse(readFileSync(resolve(SPEC_DIR, name), 'utf8')) as T;
}
