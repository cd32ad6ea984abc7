import type { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import { waitFor } from './fixtures.ts';

/** Waits until a destination has nothing waiting and nothing in flight. */
export async function drained(queue: DeliveryQueue | undefined, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => queue !== undefined && queue.backlog === 0, timeoutMs, `destination ${queue?.name ?? '?'} drained`);
}
