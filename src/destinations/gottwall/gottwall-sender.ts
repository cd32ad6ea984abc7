import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readCaFile } from '../../delivery/stream-connection.ts';
import { DeliveryError, errorMessage } from '../../errors.ts';
import type { Sender } from '../../delivery/sender.ts';
import type { MetricPoint } from '../../delivery/metric-point.ts';
import { gottwallAuthHeader, gottwallBasicAuth } from './auth.ts';

export type GottwallAction = 'incr' | 'decr' | 'avg' | 'gauge';

export interface GottwallOptions {
  /** `http(s)://host:port`. */
  url: string;
  /** The server's API prefix (`/{prefix}/api/v1/…`). Default none. */
  prefix: string;
  project: string;
  publicKey: string;
  privateKey: string;
  /** `signature` (X-GottWall-Auth S1, default) or `basic`. */
  auth: 'signature' | 'basic';
  /** Solt rounding base, seconds. Default 1000. */
  base: number;
  /** Action per source; others use `defaultAction`. */
  actions: Record<string, GottwallAction>;
  /** Default `gauge`. Released servers accept only `incr`/`decr` (docs/gottwall.md). */
  defaultAction: GottwallAction;
  caFile?: string;
  /** Unix ms, for the auth timestamp. */
  now?: () => number;
}

/** JSON body of one GottWall point (docs/gottwall.md). Pure. */
export function gottwallBody(p: MetricPoint, project: string): string {
  return JSON.stringify({ n: p.source, ts: Math.floor(p.timeMs / 1000), v: p.value, p: project, f: { board: [p.clientId] } });
}

/** POSTs each point to GottWall; 5xx and network errors are retried, other answers are not. */
export class GottwallSender implements Sender {
  // One point per request: a batch never half-succeeds, so a retry never repeats a point.
  readonly maxBatch = 1;
  readonly #o: GottwallOptions;
  readonly #url: URL;
  readonly #agent: HttpAgent | HttpsAgent;

  constructor(options: GottwallOptions) {
    this.#o = options;
    this.#url = new URL(options.url);
    const https = this.#url.protocol === 'https:';
    this.#agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ca: options.caFile ? readCaFile(options.caFile) : undefined })
      : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** GottWall counts and averages numbers; an unknown value has nothing to add. */
  accepts(p: MetricPoint): boolean {
    return p.value !== null;
  }

  async send(points: readonly MetricPoint[]): Promise<void> {
    for (const p of points) if (this.accepts(p)) await this.#post(p);
  }

  close(): Promise<void> {
    this.#agent.destroy();
    return Promise.resolve();
  }

  #post(p: MetricPoint): Promise<void> {
    const o = this.#o;
    const action = o.actions[p.source] ?? o.defaultAction;
    const path = `${o.prefix ? `/${o.prefix.replace(/^\/+|\/+$/g, '')}` : ''}/api/v1/${encodeURIComponent(o.project)}/${action}`;
    const body = gottwallBody(p, o.project);
    const ts = Math.floor((o.now ?? Date.now)() / 1000);
    const auth =
      o.auth === 'basic'
        ? { Authorization: gottwallBasicAuth(o.publicKey, o.privateKey) }
        : { 'X-GottWall-Auth': gottwallAuthHeader(o.publicKey, o.privateKey, ts, o.base) };
    const request = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: this.#url.hostname,
          port: this.#url.port || undefined,
          path,
          method: 'POST',
          agent: this.#agent,
          timeout: 10_000,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...auth },
        },
        (res) => {
          res.resume(); // the body is not needed; reading it frees the socket for keep-alive
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new DeliveryError(`GottWall answered ${status} for ${action} (${path})`, status >= 500 || status === 429));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', (err) => reject(new DeliveryError(`GottWall request failed: ${errorMessage(err)}`, true, { cause: err })));
      req.end(body);
    });
  }
}

