import { readFile } from 'node:fs/promises';
import { ajv, describeSchemaError } from '../validation.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { parseJsonText } from './json-text.ts';

/**
 * The gateway's config file (`serve --config gateway.json`): every `serve` option, named as
 * the flag in camelCase (`--idle-timeout` → `idleTimeout`), plus `serial` entries and
 * `destinations`. Every field is optional; a flag given on the command line wins.
 * `docs/gateway.sample.jsonc` has them all, commented.
 */
export interface GatewayConfig {
  host?: string;
  port?: number;
  profiles?: string;
  data?: string;
  logLevel?: string;
  logFormat?: string;
  rrdProcesses?: number;
  workers?: number;
  rrdcached?: string;
  maxLineLength?: number;
  maxConnections?: number;
  maxUnverifiedPerAddress?: number;
  helloTimeout?: number;
  handshakeTimeout?: number;
  idleTimeout?: number;
  handlers?: string[];
  statsInterval?: number;
  gatewayMetricsInterval?: number;
  serialLookahead?: number;
  /** Serial devices, one board each. */
  serial?: Array<{ path: string; baud?: number; lookahead?: number }>;
  /** The status page: `host:port`, or false for none. */
  http?: string | false;
  /** Where readings go after the rrd (see README, "Destinations"). */
  destinations?: unknown[];
}

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;

export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: int(0, 65535),
    profiles: { type: 'string', minLength: 1 },
    data: { type: 'string', minLength: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    logFormat: { enum: ['auto', 'json', 'pretty'] },
    rrdProcesses: int(1, 64),
    workers: int(0, 64),
    rrdcached: { type: 'string', pattern: '^(unix:/.+|[^:/\\s]+:\\d{1,5})$' },
    maxLineLength: int(16, 1 << 20),
    maxConnections: int(1, 1_000_000),
    maxUnverifiedPerAddress: int(1, 1_000_000),
    helloTimeout: int(1, 86400),
    handshakeTimeout: int(15, 86400),
    idleTimeout: int(1, 7 * 86400),
    handlers: { type: 'array', items: { type: 'string', minLength: 1 } },
    statsInterval: int(0, 86400),
    gatewayMetricsInterval: int(0, 86400),
    serialLookahead: int(0, 64),
    serial: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path'],
        additionalProperties: false,
        properties: {
          path: { type: 'string', pattern: '^/' },
          baud: int(50, 4_000_000),
          lookahead: int(0, 64),
        },
      },
    },
    http: { anyOf: [{ type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:/\\s[\\]]+):\\d{1,5}$' }, { const: false }] },
    destinations: { type: 'array' },
  },
} as const;

/** The options a config file may set that are plain values, as commander names them. */
export const PLAIN_CONFIG_OPTIONS = [
  'host', 'port', 'profiles', 'data', 'logLevel', 'logFormat', 'rrdProcesses', 'workers', 'rrdcached', 'maxLineLength', 'maxConnections', 'maxUnverifiedPerAddress',
  'helloTimeout', 'handshakeTimeout', 'idleTimeout', 'handlers', 'statsInterval', 'gatewayMetricsInterval', 'serialLookahead',
] as const;

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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `${file}: cannot read: ${errorMessage(err)}`, { cause: err });
  }
  return validateConfig(parseJsonText(text, file), file);
}
