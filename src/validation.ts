import { Ajv, type ErrorObject } from 'ajv';

/**
 * The one Ajv instance every schema (profiles, handler options, config, destinations)
 * compiles with: each instance carries its own compiled meta-schema (~10 MB of heap).
 * `discriminator` lets a `oneOf` on `type` report the errors of the matching branch only.
 */
export const ajv = new Ajv({ allErrors: false, discriminator: true });

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
  const detail =
    e?.keyword === 'additionalProperties'
      ? `has unknown field '${String(e.params['additionalProperty'])}'`
      : e?.keyword === 'pattern' && options.patternDetail
        ? options.patternDetail
        : (e?.message ?? 'is invalid');
  return { field: base || '/', detail };
}
