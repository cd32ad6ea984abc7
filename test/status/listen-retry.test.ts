import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isPassingBindError, listenWithRetry } from '../../src/status/listen-retry.ts';
import { waitFor } from '../helpers/fixtures.ts';

const open: Server[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function server(): Server {
  const s = createServer();
  open.push(s);
  return s;
}

function bind(s: Server, port: number, host = '127.0.0.1'): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => {
      s.off('error', reject);
      resolve(s.address() as AddressInfo);
    });
  });
}

const fast = { minMs: 20, maxMs: 40 };

describe('listenWithRetry', () => {
  it('tries a taken port again until it is freed, then reports it bound', async () => {
    const blocker = createServer();
    const { port } = await bind(blocker, 0);
    const waits: unknown[] = [];
    let bound: { address: AddressInfo; attempts: number } | undefined;
    const page = server();
    await listenWithRetry({
      listen: () => bind(page, port),
      onWait: (err) => waits.push((err as NodeJS.ErrnoException).code),
      onBound: (address, attempts) => (bound = { address, attempts }),
      onGiveUp: () => expect.fail('a taken port passes'),
      backoff: fast,
    });
    await waitFor(() => waits.length >= 2, 5000, 'two waits');
    expect(bound).toBeUndefined();
    await new Promise<void>((r) => blocker.close(() => r()));
    await waitFor(() => bound !== undefined, 5000, 'the bind after the port was freed');
    expect(bound?.address.port).toBe(port);
    expect(bound?.attempts).toBe(waits.length + 1);
    expect(new Set(waits)).toEqual(new Set(['EADDRINUSE']));
  });

  it('gives up at once on an error that does not pass by itself', async () => {
    const events: string[] = [];
    await listenWithRetry({
      listen: () => bind(server(), 0, 'no-such-host.invalid'),
      onWait: () => events.push('wait'),
      onBound: () => events.push('bound'),
      onGiveUp: (err) => events.push(`give up ${(err as NodeJS.ErrnoException).code ?? ''}`),
      backoff: fast,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual(['give up ENOTFOUND']);
  });

  it('stops trying once stopped', async () => {
    const blocker = server();
    const { port } = await bind(blocker, 0);
    let tries = 0;
    const page = server();
    const retry = await listenWithRetry({
      listen: () => (tries++, bind(page, port)),
      onWait: () => undefined,
      onBound: () => expect.fail('the port stays taken'),
      onGiveUp: () => expect.fail('a taken port passes'),
      backoff: fast,
    });
    retry.stop();
    const after = tries;
    await new Promise((r) => setTimeout(r, 200));
    expect(tries).toBe(after);
  });

  it('counts only EADDRINUSE and EADDRNOTAVAIL as passing', () => {
    const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'ENOTFOUND'].map((c) => isPassingBindError(err(c)))).toEqual([true, true, false, false]);
    expect(isPassingBindError(undefined)).toBe(false);
  });
});
