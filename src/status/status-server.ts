import { access, constants } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DeliveryStatus } from '../delivery/delivery-queue.ts';
import { errorCode, errorMessage } from '../errors.ts';
import type { LocalBackend } from '../backend/local-backend.ts';
import { GRAPH_PERIODS, graphArgs, type GraphPeriod } from './graph-args.ts';
import { GraphRenderer } from './graph-renderer.ts';
import { createMetrics } from './metrics.ts';
import { renderBoardPage, renderOverview } from './status-page.ts';
import { boardView, buildStatus, type BoardView, type StatusModel } from './status-model.ts';
import { freeBytes, FULL_DISK_BYTES } from '../data-dir.ts';

/** Points waiting in one destination's spool past which `/healthz` says 503. */
export const DEFAULT_SPOOL_ALERT_POINTS = 100_000;

export interface StatusServerOptions {
  /** What the page reads: the board table, counters, rrd files and profiles. */
  readonly backend: LocalBackend;
  readonly destinations: () => readonly DeliveryStatus[];
  readonly logger: Logger;
  readonly version: string;
  readonly spoolAlertPoints?: number;
  readonly graphs?: GraphRenderer;
  readonly now?: () => number;
}

/**
 * The gateway's own web page (boards, destinations, each board's graphs), `/metrics` for
 * Prometheus, `/healthz` for monitors and `/status.json` for scripts. Read-only; it never
 * writes to the gateway, and a failure here never reaches the boards.
 */
export class StatusServer {
  readonly #o: StatusServerOptions;
  readonly #server: Server;
  readonly #graphs: GraphRenderer;
  readonly #metrics;
  readonly #startedAtMs: number;

  constructor(o: StatusServerOptions) {
    this.#o = o;
    this.#graphs = o.graphs ?? new GraphRenderer();
    this.#startedAtMs = (o.now ?? Date.now)();
    this.#metrics = createMetrics({ stats: o.backend.stats, destinations: o.destinations, rrdPending: () => o.backend.rrd.pending, clockBehindMs: () => o.backend.clock.status.behindMs, now: o.now });
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((err: unknown) => {
        o.logger.error({ code: 'E_INTERNAL', err, url: req.url }, 'status page failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${errorMessage(err)}\n`);
        else res.destroy();
      });
    });
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The health of the gateway: empty when healthy, else why not. */
  async problems(): Promise<string[]> {
    const { backend } = this.#o;
    const out: string[] = [];
    const rrd = backend.rrd.problem;
    if (rrd) out.push(`rrdtool is down: ${rrd}`);
    const cached = backend.rrd.cachedProblem;
    if (cached) out.push(cached);
    try {
      await access(backend.dataDir, constants.W_OK);
    } catch (err) {
      out.push(`data dir ${backend.dataDir} is not writable: ${errorMessage(err)}`);
    }
    const free = await freeBytes(backend.dataDir);
    if (free !== undefined && free < FULL_DISK_BYTES) out.push(`the data disk of ${backend.dataDir} is full (${free} bytes free): new rrd files cannot be made`);
    const limit = this.#o.spoolAlertPoints ?? DEFAULT_SPOOL_ALERT_POINTS;
    for (const d of this.#o.destinations()) {
      if (d.spoolPending > limit) out.push(`destination ${d.name} has ${d.spoolPending} points in its spool (alert above ${limit})`);
    }
    return out;
  }

  async #status(): Promise<StatusModel> {
    return buildStatus(this.#o.backend, this.#o.destinations(), { startedAtMs: this.#startedAtMs, version: this.#o.version, now: this.#o.now });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'malformed URL (a % not followed by two hex digits?)\n');
    }
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', renderOverview(await this.#status()));
    if (path === '/status.json') return send(res, 200, 'application/json', `${JSON.stringify(await this.#status(), null, 1)}\n`);
    if (path === '/metrics') return send(res, 200, this.#metrics.contentType, await this.#metrics.metrics());
    if (path === '/healthz') {
      const problems = await this.problems();
      return problems.length === 0 ? send(res, 200, 'text/plain; charset=utf-8', 'ok\n') : send(res, 503, 'text/plain; charset=utf-8', `${problems.join('\n')}\n`);
    }
    const board = /^\/board\/(.+)$/.exec(path);
    if (board) {
      const b = await this.#board(board[1] as string);
      return b ? send(res, 200, 'text/html; charset=utf-8', renderBoardPage({ nowMs: (this.#o.now ?? Date.now)() }, b)) : send(res, 404, 'text/plain; charset=utf-8', 'no such board\n');
    }
    const graph = /^\/graph\/(.+)\/(hour|day|week|year)\.png$/.exec(path);
    if (graph) return this.#graph(res, graph[1] as string, graph[2] as GraphPeriod);
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  /** One board, from its own profile file: a board's page and its four graphs read no other. */
  async #board(clientId: string): Promise<BoardView | undefined> {
    const profile = await this.#o.backend.profiles.get(clientId).catch(() => undefined);
    return profile && boardView(this.#o.backend, profile);
  }

  async #graph(res: ServerResponse, clientId: string, period: GraphPeriod): Promise<void> {
    const b = await this.#board(clientId);
    if (!b?.rrdFile) return send(res, 404, 'text/plain; charset=utf-8', 'no such board, or it keeps no rrd file\n');
    let png: Buffer;
    try {
      const file = b.rrdFile;
      png = await this.#graphs.render(`${file}|${period}`, GRAPH_PERIODS[period].cacheMs, async () =>
        graphArgs({ file, clientId, period, info: await this.#graphs.info(file, this.#o.backend.rrd.rrdcached), units: b.units, rrdcached: this.#o.backend.rrd.rrdcached }),
      );
    } catch (err) {
      if (errorCode(err) === 'E_GRAPH_BUSY') res.setHeader('Retry-After', '5');
      return send(res, 503, 'text/plain; charset=utf-8', `no graph yet: ${errorMessage(err)}\n`);
    }
    res.setHeader('Cache-Control', `max-age=${Math.round(GRAPH_PERIODS[period].cacheMs / 1000)}`);
    return send(res, 200, 'image/png', png);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
