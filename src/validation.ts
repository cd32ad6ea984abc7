import { Ajv } from 'ajv';

/**
 * The one Ajv instance every schema (profiles, handler options, config, destinations)
 * compiles with: each instance carries its own compiled meta-schema (~10 MB of heap).
 */
export const ajv = new Ajv({ allErrors: false });
