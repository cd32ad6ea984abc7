import { describe, expect, it } from 'vitest';
import { gottwallAuthHeader, gottwallBasicAuth, gottwallSolt } from '../../../src/destinations/gottwall/auth.ts';
import { loadKat } from '../../helpers/repo.ts';

interface GottwallKat {
  public_key: string;
  private_key: string;
  cases: Array<{ timestamp: number; base: number; solt: number; x_gottwall_auth: string }>;
  basic_authorization: string;
}

const kat = loadKat<GottwallKat>('gottwall-kat.json');

describe('gottwall-kat.json', () => {
  for (const c of kat.cases) {
    it(`signs timestamp ${c.timestamp} with solt ${c.solt}`, () => {
      expect(gottwallSolt(c.timestamp, c.base)).toBe(c.solt);
      expect(gottwallAuthHeader(kat.public_key, kat.private_key, c.timestamp, c.base)).toBe(c.x_gottwall_auth);
    });
  }
  it('puts the public key first in Basic auth', () => {
    expect(gottwallBasicAuth(kat.public_key, kat.private_key)).toBe(kat.basic_authorization);
  });
  it('uses integer division, not rounding (half of all timestamps differ)', () => {
    expect(gottwallSolt(1391854999, 1000)).toBe(1391854000);
  });
});
