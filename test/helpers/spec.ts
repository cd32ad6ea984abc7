import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** `../shared/spec/` beside the checkout: the authority on wire formats. */
export const SPEC_DIR = resolve(REPO_ROOT, '../shared/spec');

/** Loads one known-answer file from the shared spec. */
export function loadKat<T>(name: `${string}-kat.json`): T {
  return JSON.parse(readFileSync(resolve(SPEC_DIR, name), 'utf8')) as T;
}
