import type { AddressInfo } from 'node:net';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';

/**
 * Bind errors that go away by themselves: EADDRINUSE when another program's connection holds
 * the port for now (60405 and 60406 lie inside Linux's ephemeral range, 32768–60999, so any
 * outgoing connection may be given one), EADDRNOTAVAIL while the address is not up yet at boot.
 * Anything else (EACCES, a bad host) stays wrong until the operator acts.
 */
export function isPassingBindError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL';
}

export interface ListenRetryOptions {
  /** Binds once; rejects with the bind error. */
  readonly listen: () => Promise<AddressInfo>;
  /** A passing error; the next try comes after `delayMs`. `attempt` counts from 0. */
  readonly onWait: (err: unknown, delayMs: number, attempt: number) => void;
  readonly onBound: (address: AddressInfo, attempts: number) => void;
  /** An error that will not pass; no more tries. */
  readonly onGiveUp: (err: unknown) => void;
  readonly backoff?: BackoffOptions;
}

/**
 * Binds, and while the port is only taken for now, tries again with backoff until it is had
 * or `stop()` is called: a gateway left running for months should not keep its page off
 * because of one unlucky second at boot. Resolves after the first try, bound or not.
 */
export async function listenWithRetry(o: ListenRetryOptions): Promise<{ stop: () => void }> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (n: number): Promise<void> => {
    try {
      const address = await o.listen();
      if (!stopped) o.onBound(address, n + 1); // else the closer that stopped it closes the server too
    } catch (err) {
      if (stopped) return;
      if (!isPassingBindError(err)) {
        o.onGiveUp(err);
        return;
      }
      const delay = backoffDelay(n, o.backoff);
      o.onWait(err, delay, n);
      timer = setTimeout(() => void attempt(n + 1), delay);
      timer.unref();
    }
  };
  await attempt(0);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
