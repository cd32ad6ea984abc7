import { Ajv, type ErrorObject } from 'ajv';

/**
 * The one Ajv instance every schema (profiles, handler options, config, destinations)
 * compiles with: each instance carries its own compiled meta-schema (~10 MB of heap).
 */
export const ajv = new Ajv({ allErrors: false });

/**
 * The first schema error as a field path and words a user can act on. `oneOf`/`const`
 * are skipped: they only say "no branch matched", the branch's own error says why.
 */
export function describeSchemaError(
  errors: ErrorObject[] | null | undefined,
  options: { under?: string; patternDetail?: string } = {},
): { field: string; detail: string } {
  const list = errors ?? [];
  const e = list.find((x) => x.keyword !== 'oneOf' && x.keyword !== 'const') ?? list[0];
  const base = `${options.under ?? ''}${e?.instancePath ?? ''}`;
  if (e?.keyword === 'required') return { field: `${base}/${String(e.params['missingProperty'])}`, detail: 'is missing' };
  const detail =
    e?.keyword === 'additionalProperties'
      ? `has unknown field '${String(e.params['additionalProperty'])}'`
      : e?.keyword === 'pattern' && options.patternDetail
        ? options.patternDetail
        : (e?.message ?? 'is invalid');
  return { field: base || '/', detail };
}
