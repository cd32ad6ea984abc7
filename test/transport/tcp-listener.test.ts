import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLE_KEY, rrduinoProfile, waitFor } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ example: rrduinoProfile() }, { maxUnverifiedPerAddress: 5, maxConnections: 64, evictUnverifiedAfterMs: 60_000 });
});
afterEach(async () => h.close());

async function holder(i: number): Promise<RawClient> {
  const c = await RawClient.open(h.port);
  c.send(`h zz${i}\n`);
  await c.read(32);
  return c;
}

describe('TcpListener per-address limit', () => {
  it('an honest board still connects and stores while one address holds its maximum of unverified connections and its waiting room', { timeout: 10_000 }, async () => {
    const held = await Promise.all([0, 1, 2, 3, 4].map(holder));
    const waiting = await Promise.all([0, 1, 2, 3, 4].map(() => RawClient.open(h.port)));
    await waitFor(() => h.backend.stats.get('connections.waiting') === 5, 5000, 'five waiting');
    const refused = await RawClient.open(h.port);
    expect(await refused.closedWithin(2000)).toBe(true);
    expect(refused.received.length).toBe(0);
    expect(h.backend.stats.get('connections.refused.unverified')).toBe(1);

    const honest = await RawClient.open(h.port, '127.0.0.1', '127.0.0.2');
    const board = new BoardProtocol('example', EXAMPLE_KEY);
    honest.send(board.helloLine());
    board.acceptKeyMaterial(await honest.read(32));
    honest.send(board.updateLine({ temperature: 21.5 }));
    await waitFor(() => h.backend.stats.get('updates.stored') === 1, 5000, 'the honest board’s update');
    expect(h.logs.lines.some((l) => l['code'] === 'E_TOO_MANY_UNVERIFIED')).toBe(true);
    for (const c of [...held, ...waiting, honest]) c.destroy();
  });

  it('lets a connection past the limit wait, unread, and answers its hello once a place is free (the original firmware waits forever for its 32 bytes)', { timeout: 10_000 }, async () => {
    const held = await Promise.all([0, 1, 2, 3, 4].map(holder));
    const board = new BoardProtocol('example', EXAMPLE_KEY);
    const late = await RawClient.open(h.port);
    late.send(board.helloLine());
    await waitFor(() => h.backend.stats.get('connections.waiting') === 1, 5000, 'the sixth waiting');
    expect(late.received.length).toBe(0);
    held[0]?.destroy(); // a place frees
    board.acceptKeyMaterial(await late.read(32, 5000));
    late.send(board.updateLine({ temperature: 3 }));
    await waitFor(() => h.backend.stats.get('updates.stored') === 1, 5000, 'its update');
    for (const c of [...held, late]) c.destroy();
  });

  it('gives the place of a connection that never verifies to one that waits', { timeout: 20_000 }, async () => {
    await h.close();
    h = await startHarness({ example: rrduinoProfile() }, { maxUnverifiedPerAddress: 5, maxConnections: 64, evictUnverifiedAfterMs: 500 });
    const held = await Promise.all([0, 1, 2, 3, 4].map(holder)); // an attacker holding every place
    const board = new BoardProtocol('example', EXAMPLE_KEY);
    const honest = await RawClient.open(h.port);
    honest.send(board.helloLine());
    board.acceptKeyMaterial(await honest.read(32, 10_000));
    honest.send(board.updateLine({ temperature: 4 }));
    await waitFor(() => h.backend.stats.get('updates.stored') === 1, 5000, 'the honest board’s update');
    expect(h.backend.stats.get('connections.evicted')).toBeGreaterThanOrEqual(1);
    for (const c of [...held, honest]) c.destroy();
  });

  it('serves every one of 80 boards behind one address (a NAT) that connect at once, with the default limit of 64, each waiting for its 32 bytes without a timeout', { timeout: 60_000 }, async () => {
    await h.close();
    const ids = Array.from({ length: 80 }, (_, i) => `nat${i}`);
    h = await startHarness(Object.fromEntries(ids.map((id) => [id, rrduinoProfile(EXAMPLE_KEY)])));
    const clients = await Promise.all(ids.map(() => RawClient.open(h.port)));
    await Promise.all(clients.map(async (c, i) => {
      const board = new BoardProtocol(ids[i] as string, EXAMPLE_KEY);
      c.send(board.helloLine());
      board.acceptKeyMaterial(await c.read(32, 50_000));
      // A real board then spends seconds on its key derivation (SimulatedBoard's deriveDelayMs):
      // meanwhile its connection holds a place, so the places run out and the rest wait.
      await new Promise((r) => setTimeout(r, 2_000));
      c.send(board.updateLine({ temperature: i }));
    }));
    await waitFor(() => h.backend.stats.get('messages.verified') === 80, 20_000, 'every board verified');
    expect(h.backend.stats.get('connections.waiting')).toBeGreaterThan(0);
    expect(h.backend.stats.get('connections.refused.unverified')).toBe(0);
    for (const c of clients) c.destroy();
  });

  it('a verified connection no longer counts against its address', { timeout: 10_000 }, async () => {
    const board = new BoardProtocol('example', EXAMPLE_KEY);
    const c = await RawClient.open(h.port);
    c.send(board.helloLine());
    board.acceptKeyMaterial(await c.read(32));
    c.send(board.updateLine({ temperature: 1 }));
    await waitFor(() => h.backend.stats.get('messages.verified') === 1);
    const held = await Promise.all([0, 1, 2, 3, 4].map(holder)); // five more from the same address fit
    expect(h.backend.stats.get('connections.refused.unverified')).toBe(0);
    for (const x of [...held, c]) x.destroy();
  });

  it('logs a few lines per address and code, then one summary of what it held back', { timeout: 20_000 }, async () => {
    const c = await RawClient.open(h.port);
    for (let i = 0; i < 2000; i += 100) {
      c.send(Array.from({ length: 100 }, (_, j) => `h zz${i + j}\n`).join(''));
      await c.read(32 * (i + 100), 10_000);
    }
    // The bytes go out before the profile lookup: wait until every lookup is done too.
    await waitFor(() => h.backend.stats.get('hellos.unknown') === 2000, 5000, 'every hello looked up');
    c.destroy();
    await h.close();
    const unknown = h.logs.lines.filter((l) => l['code'] === 'E_UNKNOWN_CLIENT');
    expect(unknown.filter((l) => l['suppressed'] === undefined)).toHaveLength(5);
    expect(unknown.filter((l) => l['suppressed'] === 1995)).toHaveLength(1);
    h = await startHarness({}); // afterEach closes it
  });
});
