import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamConnection } from '../../src/delivery/stream-connection.ts';
import { DeliveryError } from '../../src/errors.ts';
import { waitFor } from '../helpers/fixtures.ts';

/** A loopback peer that keeps what it read and can cut its clients off. */
class Peer {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  received = '';

  constructor() {
    this.server = createServer((s) => {
      this.sockets.add(s);
      s.on('data', (d) => (this.received += d.toString()));
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as { port: number }).port;
  }

  cutOff(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cutOff();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let peer: Peer | undefined;
let conn: StreamConnection | undefined;
afterEach(async () => {
  await conn?.close();
  await peer?.close();
  conn = peer = undefined;
});

/** Whether a promise settled yet, and how. */
function watch(p: Promise<void>): { state: 'pending' | 'held' | 'lost'; err?: unknown } {
  const w: { state: 'pending' | 'held' | 'lost'; err?: unknown } = { state: 'pending' };
  p.then(
    () => (w.state = 'held'),
    (err: unknown) => Object.assign(w, { state: 'lost', err }),
  );
  return w;
}

describe('StreamConnection resend window', () => {
  it('counts a write as delivered once the connection lived its window after it', async () => {
    peer = new Peer();
    conn = new StreamConnection({ address: { host: '127.0.0.1', port: await peer.listen(), tls: false }, resendWindowMs: 200 });
    const { delivered } = await conn.write('a 1 1\n');
    const w = watch(delivered);
    await waitFor(() => peer?.received === 'a 1 1\n', 5000, 'bytes at the peer');
    expect(w.state).toBe('pending'); // written, not yet delivered: the window has not passed
    await waitFor(() => w.state === 'held', 5000, 'window passed');
  });

  it('says a write in its window may be lost when the peer cuts the connection, with a retryable error', async () => {
    peer = new Peer();
    conn = new StreamConnection({ address: { host: '127.0.0.1', port: await peer.listen(), tls: false }, resendWindowMs: 60_000 });
    const first = watch((await conn.write('a 1 1\n')).delivered);
    const second = watch((await conn.write('a 2 2\n')).delivered);
    await waitFor(() => peer?.sockets.size === 1, 5000, 'connected');
    peer.cutOff();
    await waitFor(() => first.state === 'lost' && second.state === 'lost', 5000, 'both writes lost');
    expect(first.err).toBeInstanceOf(DeliveryError);
    expect((first.err as DeliveryError).retryable).toBe(true);
    // The next write opens a new connection, and its window is its own.
    const third = watch((await conn.write('a 3 3\n')).delivered);
    await waitFor(() => peer?.received.endsWith('a 3 3\n') === true, 5000, 'third write at the peer');
    expect(third.state).toBe('pending');
  });

  it('with a window of 0, a write is delivered once the kernel took it', async () => {
    peer = new Peer();
    conn = new StreamConnection({ address: { host: '127.0.0.1', port: await peer.listen(), tls: false }, resendWindowMs: 0 });
    const w = watch((await conn.write('a 1 1\n')).delivered);
    await waitFor(() => w.state === 'held', 1000, 'delivered at once');
  });

  it('closing the connection ends the windows of its writes as not delivered', async () => {
    peer = new Peer();
    conn = new StreamConnection({ address: { host: '127.0.0.1', port: await peer.listen(), tls: false }, resendWindowMs: 60_000 });
    const w = watch((await conn.write('a 1 1\n')).delivered);
    await conn.close();
    await waitFor(() => w.state === 'lost', 1000, 'lost at close');
  });
});
