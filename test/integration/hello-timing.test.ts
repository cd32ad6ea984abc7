import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownFirstShare, startGatewayProcess, timeFirstLine } from '../helpers/hello-timing.ts';

let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;
beforeAll(async () => (gateway = await startGatewayProcess()));
afterAll(async () => gateway.stop());

describe('hello timing', () => {
  it('answers a known and an unknown client id so alike that neither comes first more than 4 times in 5 (400 pairs)', { timeout: 90_000 }, async () => {
    const { share, knownUs, unknownUs } = await knownFirstShare(gateway.port, 400);
    expect(share, `known first in ${(share * 100).toFixed(0)} % of pairs; medians ${knownUs.toFixed(0)} and ${unknownUs.toFixed(0)} µs`).toBeGreaterThanOrEqual(0.2);
    expect(share).toBeLessThanOrEqual(0.8);
  });

  it('closes on a bogus first line after the hello so alike for a known and an unknown client id that neither comes first more than 4 times in 5 (300 pairs)', { timeout: 90_000 }, async () => {
    const { share, knownUs, unknownUs } = await knownFirstShare(gateway.port, 300, timeFirstLine);
    expect(share, `known first in ${(share * 100).toFixed(0)} % of pairs; medians ${knownUs.toFixed(0)} and ${unknownUs.toFixed(0)} µs`).toBeGreaterThanOrEqual(0.2);
    expect(share).toBeLessThanOrEqual(0.8);
  });
});
