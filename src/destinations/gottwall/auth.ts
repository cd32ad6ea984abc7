import { createHmac } from 'node:crypto';

/**
 * GottWall authentication as the real server checks it (docs/gottwall.md, "Authentication"), not as
 * its document says: four fields in the S1 header, public key first in Basic.
 */

/** `floor(ts / base) * base`: Python 2 integer division, not rounding. */
export function gottwallSolt(timestamp: number, base: number): number {
  return Math.floor(timestamp / base) * base;
}

/** `X-GottWall-Auth: GottWallS1 {ts} {sign} {base}`. */
export function gottwallAuthHeader(publicKey: string, privateKey: string, timestamp: number, base: number): string {
  const sign = createHmac('md5', privateKey).update(`${publicKey}${gottwallSolt(timestamp, base)}`).digest('hex');
  return `GottWallS1 ${timestamp} ${sign} ${base}`;
}

/** `Authorization: Basic base64("{public_key}:{private_key}")`. */
export function gottwallBasicAuth(publicKey: string, privateKey: string): string {
  return `Basic ${Buffer.from(`${publicKey}:${privateKey}`).toString('base64')}`;
}
