import { connect, type Socket } from 'node:net';

/** A bare TCP client for sending exact bytes and seeing what comes back and when it closes. */
export class RawClient {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => (this.received = Buffer.concat([this.received, c])));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** `localAddress` picks the source address (127.0.0.2 is another host on loopback). */
  static open(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, localAddress }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves with the first `n` bytes received. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    const end = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > end) throw new Error(`got ${this.received.length} of ${n} bytes`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.received.subarray(0, n);
  }

  /** Whether the gateway closed the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
