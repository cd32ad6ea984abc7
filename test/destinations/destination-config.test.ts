import { describe, expect, it } from 'vitest';
import { destinationName, validateDestinations } from '../../src/destinations/destination-config.ts';
import { parseAddress } from '../../src/delivery/stream-connection.ts';

describe('destination config', () => {
  it('accepts Hosted Graphite over TLS and a local carbon', () => {
    const list = validateDestinations([
      { type: 'graphite', name: 'hosted', address: 'tls://abc123.carbon.hostedgraphite.com:20040', protocol: 'pickle', apiKey: 'your-api-key' },
      { type: 'graphite', address: '127.0.0.1:2004' },
    ]);
    expect(list.map(destinationName)).toEqual(['hosted', 'graphite-127.0.0.1-2004']);
  });
  it('names the entry and field of an error', () => {
    expect(() => validateDestinations([{ type: 'graphite', address: '127.0.0.1:2004', protocl: 'pickle' }], 'g.json')).toThrow(/g\.json: \/destinations\/0 has unknown field 'protocl'/);
    expect(() => validateDestinations([{ type: 'graphite', address: 'nowhere' }], 'g.json')).toThrow(/\/destinations\/0\/address/);
  });
  it('reports an unknown type as such, with the types there are', () => {
    expect(() => validateDestinations([{ type: 'influxdb' }], 'g.json')).toThrow(/g\.json: \/destinations\/0\/type must be one of graphite, dalmatinerdb, gottwall \(got "influxdb"\)/);
  });
  it('reports a wrong field of the kind named by type, not of another kind', () => {
    const gw = { type: 'gottwall', url: 'http://h:1', project: 'p', publicKey: 'a', privateKey: 'b', base: 0 };
    expect(() => validateDestinations([gw], 'g.json')).toThrow(/g\.json: \/destinations\/0\/base must be >= 1/);
    expect(() => validateDestinations([{ type: 'graphite', address: 'h:1', protocol: 'json' }], 'g.json')).toThrow(/\/destinations\/0\/protocol must be one of "plaintext", "pickle"/);
  });
  it('refuses two destinations with the same name (they would share a spool)', () => {
    expect(() => validateDestinations([{ type: 'graphite', address: 'a:1' }, { type: 'graphite', address: 'a:1' }])).toThrow(/used twice/);
  });
});

describe('destination config that would fool the schema', () => {
  it('counts a DalmatinerDB bucket in bytes: 200 × é passes 255 characters but is 400 bytes', () => {
    expect(() => validateDestinations([{ type: 'dalmatinerdb', address: 'h:5555', bucket: 'é'.repeat(200) }], 'g.json')).toThrow(/\/destinations\/0\/bucket is 400 bytes/);
    expect(validateDestinations([{ type: 'dalmatinerdb', address: 'h:5555', bucket: 'é'.repeat(127) }])).toHaveLength(1);
  });
  it('refuses retryMinMs above retryMaxMs, also against the default maximum', () => {
    expect(() => validateDestinations([{ type: 'graphite', address: 'h:1', retryMinMs: 5000, retryMaxMs: 1000 }])).toThrow(/retryMinMs \(5000\) is larger than retryMaxMs \(1000\)/);
    expect(() => validateDestinations([{ type: 'graphite', address: 'h:1', retryMinMs: 60_000 }])).toThrow(/set retryMaxMs too/);
  });
  it('refuses destination names that are not a plain directory name', () => {
    for (const name of ['.', '..', '.hidden', '-x', 'a/b', '']) {
      expect(() => validateDestinations([{ type: 'graphite', name, address: 'h:1' }]), name).toThrow(/\/destinations\/0\/name/);
    }
  });
  it('names a CA file that cannot be read, for Graphite and GottWall alike', () => {
    expect(() => validateDestinations([{ type: 'graphite', address: 'tls://h:1', caFile: '/nonexistent/ca.pem' }])).toThrow(/\/destinations\/0\/caFile: cannot read \/nonexistent\/ca\.pem/);
    const gw = { type: 'gottwall', url: 'https://h:1', project: 'p', publicKey: 'a', privateKey: 'b', caFile: '/nonexistent/ca.pem' };
    expect(() => validateDestinations([gw])).toThrow(/\/destinations\/0\/caFile: cannot read \/nonexistent\/ca\.pem/);
  });
});

describe('parseAddress', () => {
  it('reads host:port, [v6]:port and tls://', () => {
    expect(parseAddress('carbon.lan:2003')).toEqual({ host: 'carbon.lan', port: 2003, tls: false });
    expect(parseAddress('[::1]:2004')).toEqual({ host: '::1', port: 2004, tls: false });
    expect(parseAddress('tls://h:20040')).toEqual({ host: 'h', port: 20040, tls: true });
  });
  it('rejects a missing or impossible port', () => {
    for (const a of ['h', 'h:0', 'h:70000', 'http://h:80']) expect(() => parseAddress(a)).toThrow(/host:port/);
  });
});
