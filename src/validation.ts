import { Ajv, type ErrorObject } from 'ajv';

/**
 * The one Ajv instance every schema (profiles, handler options, config, destinations)
 * compiles with: each instance carries its own compiled meta-schema (~10 MB of heap).
 * `discriminator` lets a `oneOf` on `type` report the errors of the matching branch only.
 */
// verbose: errors carry their schema, so an unknown field can be answered with "did you mean".
export const ajv = new Ajv({ allErrors: false, discriminator: true, verbose: true });

/**
 * The first schema error as a field path and words a user can act on. `oneOf`/`const`
 * are skipped: they only say "no branch matched", the branch's own error says why.
 * `allowed` lists the values of a discriminator field (e.g. `{'/type': ['graphite', …]}`).
 */
export function describeSchemaError(
  errors: ErrorObject[] | null | undefined,
  options: { under?: string; patternDetail?: string; allowed?: Record<string, readonly string[]> } = {},
): { field: string; detail: string } {
  const list = errors ?? [];
  const e = list.find((x) => x.keyword !== 'oneOf' && x.keyword !== 'const') ?? list[0];
  const base = `${options.under ?? ''}${e?.instancePath ?? ''}`;
  if (e?.keyword === 'required') return { field: `${base}/${String(e.params['missingProperty'])}`, detail: 'is missing' };
  if (e?.keyword === 'discriminator') {
    const tag = String(e.params['tag']);
    const allowed = options.allowed?.[`/${tag}`];
    const got = JSON.stringify(e.params['tagValue']);
    return { field: `${base}/${tag}`, detail: allowed ? `must be one of ${allowed.join(', ')} (got ${got})` : `has no known value (got ${got})` };
  }
  if (e?.keyword === 'enum') {
    const values = (e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
    return { field: base || '/', detail: `must be one of ${values}` };
  }
  if (e?.keyword === 'additionalProperties') {
    const unknown = String(e.params['additionalProperty']);
    const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const guess = closest(unknown, known);
    return { field: base || '/', detail: `has unknown field '${unknown}'${guess ? ` (did you mean '${guess}'?)` : known.length > 0 ? ` (known: ${known.join(', ')})` : ''}` };
  }
  const detail =
    e?.keyword === 'pattern' && options.patternDetail
        ? options.patternDetail
        : (e?.message ?? 'is invalid');
  return { field: base || '/', detail };
}

/** The candidate nearest to `word` (a typo, a missing or extra letter), if one is near enough. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= Math.max(2, Math.floor(c.length / 4)) && (best === undefined || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Levenshtein distance (insert, delete, substitute), a row at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] as number;
}
