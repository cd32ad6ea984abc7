import { ConfigError } from '../errors.ts';

/** `host:port` (port 0: any free one) of the status page; throws ConfigError. */
export function parseHttpAddress(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new ConfigError('E_CONFIG_INVALID', `http address '${text}' must be host:port (127.0.0.1:60406), or off`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** Where the page listens unless configured: this machine only. */
export const DEFAULT_HTTP = '127.0.0.1:60406';
