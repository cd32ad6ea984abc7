import { describe, expect, it } from 'vitest';
import { BaseHandler } from '../../src/handlers/base-handler.ts';
import { RRDuinoHandler } from '../../src/handlers/rrduino-handler.ts';

const options = (create: string[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ path: 'shed.rrd', create, update: 'N:{temperature}:U:{humidity}', ...extra });

describe('RRDuinoHandler.describe', () => {
  it("gives the rrd step of the create arguments, rrdtool's 300 s by default", () => {
    const step = (create: string[]): number | undefined => RRDuinoHandler.describe(options(create), '/data').rrd?.stepSeconds;
    expect(step(['--step', '60', 'DS:t:GAUGE:120:U:U'])).toBe(60);
    expect(step(['-s', '10'])).toBe(10);
    expect(step(['--step=30'])).toBe(30);
    expect(step(['DS:t:GAUGE:600:U:U'])).toBe(300);
  });

  it('resolves a relative file under the data dir and keeps an absolute one', () => {
    expect(RRDuinoHandler.describe(options([]), '/var/lib/rrduino').rrd?.file).toBe('/var/lib/rrduino/shed.rrd');
    expect(RRDuinoHandler.describe(options([], { path: '/srv/rrd/shed.rrd' }), '/var/lib/rrduino').rrd?.file).toBe('/srv/rrd/shed.rrd');
  });

  it('names the key each data source takes from the update template, the create arguments and the units', () => {
    const rrd = RRDuinoHandler.describe(options(['DS:a:GAUGE:600:U:U'], { units: { temperature: '°C' } }), '/d').rrd;
    expect(rrd?.keys).toEqual(['temperature', undefined, 'humidity']);
    expect(rrd?.create).toEqual(['DS:a:GAUGE:600:U:U']);
    expect(rrd?.units).toEqual({ temperature: '°C' });
    expect(RRDuinoHandler.describe(options([]), '/d').rrd?.units).toEqual({});
  });
});

describe('BaseHandler.describe', () => {
  it('describes no rrd file: BaseHandler stores nothing', () => {
    expect(BaseHandler.describe({}, '/d')).toEqual({});
  });
});
