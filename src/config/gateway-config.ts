import { readFile } from 'node:fs/promises';
import { ajv, describeSchemaError } from '../validation.ts';
import { ConfigError, errorMessage } from '../errors.ts';

/**
 * The gateway's config file (`serve --config gateway.json`). Every field is optional;
 * a command-line flag given explicitly wins over the file.
 */
export interface GatewayConfig {
  host?: string;
  port?: number;
  profiles?: string;
  data?: string;
  logLevel?: string;
  /** Serial devices, one board each. */
  serial?: Array<{ path: string; baud?: number; lookahead?: number }>;
  /** Where readings go after the rrd (see README, "Destinations"). */
  destinations?: unknown[];
  /** The status page: `host:port`, or false for none. */
  http?: string | false;
}

export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    profiles: { type: 'string', minLength: 1 },
    data: { type: 'string', minLength: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    serial: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path'],
        additionalProperties: false,
        properties: {
          path: { type: 'string', pattern: '^/' },
          baud: { type: 'integer', minimum: 50, maximum: 4000000 },
          lookahead: { type: 'integer', minimum: 0, maximum: 64 },
        },
      },
    },
    destinations: { type: 'array' },
    http: { anyOf: [{ type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:/\\s[\\]]+):\\d{1,5}$' }, { const: false }] },
  },
} as const;

const validate = ajv.compile(gatewayConfigSchema);

/** Checks parsed config JSON; throws ConfigError naming the file and the field. */
export function validateConfig(json: unknown, file: string): GatewayConfig {
  if (!validate(json)) {
    const { field, detail } = describeSchemaError(validate.errors);
    throw new ConfigError('E_CONFIG_INVALID', `${file}: ${field} ${detail}`);
  }
  return json as GatewayConfig;
}

export async function loadConfig(file: string): Promise<GatewayConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${file}: cannot read JSON: ${errorMessage(err)}`, { cause: err });
  }
  return validateConfig(json, file);
}
