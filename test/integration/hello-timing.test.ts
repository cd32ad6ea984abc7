import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloMedians, startGatewayProcess, timeFirstLine } from '../helpers/hello-timing.ts';

let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;
beforeAll(async () => (gateway = await startGatewayProcess()));
afterAll(async () => gateway.stop());

describe('hello timing', () => {
  it('answers a known and an unknown client id equally fast (medians within 10 % over 500 tries each)', { timeout: 60_000 }, async () => {
    const { knownUs: k, unknownUs: u } = await helloMedians(gateway.port, 500);
    expect(Math.abs(k - u) / Math.min(k, u), `median known ${k.toFixed(0)} µs, unknown ${u.toFixed(0)} µs`).toBeLessThanOrEqual(0.1);
  });

  it('closes on a bogus first line after the hello as fast for an unknown client id as for a known one (medians within 10 %)', { timeout: 60_000 }, async () => {
    const { knownUs: k, unknownUs: u } = await helloMedians(gateway.port, 300, timeFirstLine);
    expect(Math.abs(k - u) / Math.min(k, u), `median known ${k.toFixed(0)} µs, unknown ${u.toFixed(0)} µs`).toBeLessThanOrEqual(0.1);
  });
});
