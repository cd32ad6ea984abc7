import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { decodePoint } from '../../src/destinations/dalmatinerdb/codec.ts';
import { gottwallAuthHeader, gottwallBasicAuth } from '../../src/destinations/gottwall/auth.ts';

// DalmatinerDB and GottWall cannot be installed here: these stand-ins decode what the
// gateway sends with the KAT-checked codec and check auth with the KAT-checked logic.

type DalmatinerPoint = { metric: string; time: number; value: number | null };

/**
 * A DalmatinerDB stand-in: decodes stream mode (doc dialect) with the KAT-checked codec,
 * and stores like the server: points become durable at a flush, one value per metric and
 * second (a repeat overwrites). `crash()` is a kill -9: unflushed points and whatever is
 * still in the socket buffers are gone; the store survives for the next `start()`.
 */
export class DalmatinerReceiver {
  inits: string[] = [];
  /** Every point that arrived, repeats included. */
  received: DalmatinerPoint[] = [];
  flushes = 0;
  #pending: DalmatinerPoint[] = [];
  #store = new Map<string, DalmatinerPoint>();
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  /** What the server would hold: one value per metric and second, in time order. */
  stored(): DalmatinerPoint[] {
    return [...this.#store.values()].sort((a, b) => a.time - b.time || a.metric.localeCompare(b.metric));
  }

  async start(): Promise<void> {
    this.#server = createServer((s) => {
      this.#sockets.add(s);
      let buf = Buffer.alloc(0);
      let streaming = false;
      s.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          if (!streaming) {
            if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
            const len = buf.readUInt32BE(0);
            this.inits.push(buf.subarray(0, 4 + len).toString('hex'));
            buf = buf.subarray(4 + len);
            streaming = true;
          } else if (buf[0] === 2) {
            this.flushes++;
            for (const p of this.#pending) this.#store.set(`${p.metric}@${p.time}`, p);
            this.#pending = [];
            buf = buf.subarray(1);
          } else if (buf[0] === 1) {
            if (buf.length < 11) return;
            const ml = buf.readUInt16BE(9);
            if (buf.length < 13 + ml) return;
            const dl = buf.readUInt16BE(11 + ml);
            if (buf.length < 13 + ml + dl) return;
            const metric = buf.toString('utf8', 11, 11 + ml);
            const time = Number(buf.readBigUInt64BE(1));
            for (let o = 0; o < dl; o += 9) {
              const p = { metric, time: time + o / 9, value: decodePoint('doc', buf.subarray(13 + ml + o, 13 + ml + o + 9)) };
              this.received.push(p);
              this.#pending.push(p);
            }
            buf = buf.subarray(13 + ml + dl);
          } else {
            return;
          }
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.#server?.listen(this.port, '127.0.0.1', r));
  }

  /** Stops reading: what the gateway writes now waits in the kernel, unread. */
  hang(): void {
    for (const s of this.#sockets) s.pause();
  }

  /** kill -9: connections reset, unflushed and unread points lost. */
  async crash(): Promise<void> {
    this.#pending = [];
    for (const s of this.#sockets) s.resetAndDestroy();
    await new Promise((r) => this.#server?.close(r));
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server?.close(r));
  }
}

/** A GottWall stand-in that checks auth the way the real server does (KAT logic). */
export class GottwallReceiver {
  statuses: number[] = [];
  /** Every request, whatever it was answered. */
  requests = 0;
  got: Array<{ path: string; body: unknown; auth: string | undefined }> = [];
  #server: HttpServer | undefined;
  constructor(readonly port: number, readonly pub: string, readonly priv: string) {}
  async start(): Promise<void> {
    this.#server = createHttpServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests++;
        const s1 = req.headers['x-gottwall-auth'];
        const basic = req.headers['authorization'];
        let ok = false;
        if (typeof s1 === 'string') {
          const [, ts, , base] = s1.split(' ');
          ok = s1.split(' ').length === 4 && s1 === gottwallAuthHeader(this.pub, this.priv, Number(ts), Number(base));
        } else if (typeof basic === 'string') ok = basic === gottwallBasicAuth(this.pub, this.priv);
        const status = !ok ? 403 : (this.statuses.shift() ?? 200);
        if (status === 200) this.got.push({ path: req.url ?? '', body: JSON.parse(body) as unknown, auth: typeof s1 === 'string' ? s1 : basic });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.#server?.listen(this.port, '127.0.0.1', r));
  }
  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}

