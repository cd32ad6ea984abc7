import { describe, expect, it } from 'vitest';
import { graphArgs } from '../../src/status/graph-args.ts';
import { parseRrdInfo } from '../../src/rrd/rrd-info.ts';
import { ago, renderBoardPage, renderOverview } from '../../src/status/status-page.ts';
import type { BoardView, StatusModel } from '../../src/status/status-model.ts';

const board = (over: Partial<BoardView> = {}): BoardView => ({
  clientId: 'shed', handler: 'RRDuinoHandler', transport: 'tcp', remote: '10.0.0.5:4000', connected: true, lastSeenMs: 1_000_000, lastValues: [['temperature', 21.5]],
  rrdFile: '/var/lib/rrduino/shed.rrd', stepSeconds: 60, errors: 0, lastError: undefined, silent: false, units: {}, ...over,
});
const model = (boards: BoardView[]): StatusModel => ({ nowMs: 1_030_000, startedAtMs: 0, version: '1.2.3', boards, invalidProfiles: [], clock: { behindMs: 0, largestStepBackMs: 0 }, destinations: [] });

describe('status page HTML', () => {
  it('escapes whatever a client id holds (ids may hold < > & " \')', () => {
    const hostile = board({ clientId: `<b>x&"'`, lastValues: [['<i>', 1]] });
    const page = renderOverview(model([hostile]));
    expect(page).not.toContain('<b>x');
    expect(page).not.toContain('<i>');
    expect(page).toContain('&#60;b&#62;x&#38;&#34;&#39;');
    expect(page).toContain(`href="/board/${encodeURIComponent(`<b>x&"'`)}"`);
    expect(renderBoardPage(model([hostile]), hostile)).toContain(`src="/graph/${encodeURIComponent(`<b>x&"'`)}/hour.png"`);
  });

  it('shows a silent board, its errors, and refreshes itself', () => {
    const page = renderOverview(model([board({ silent: true, errors: 3, lastError: { code: 'E_RRD_COMMAND', atMs: 1_020_000 } })]));
    expect(page).toContain('silent for more than 3 steps (60 s each)');
    expect(page).toMatch(/class="bad">3<\/span><br><span class="muted">last E_RRD_COMMAND, 10 s ago/);
    expect(page).toContain('<meta http-equiv="refresh" content="15">');
    expect(page).toContain('temperature&nbsp;=&nbsp;<b>21.5</b>&nbsp;°C');
  });

  it('says how long ago, in the unit that reads best', () => {
    expect([ago(5_000), ago(600_000), ago(7_200_000), ago(3 * 86_400_000)]).toEqual(['5 s ago', '10 min ago', '2 h ago', '3 d ago']);
  });
});

describe('graphs', () => {
  const info = parseRrdInfo(['filename = "x.rrd"', 'step = 60', 'last_update = 1700000000', 'ds[humidity].index = 1', 'ds[humidity].type = "COUNTER"', 'ds[humidity].min = 0.0000000000e+00', 'ds[humidity].max = 1.0000000000e+02', 'ds[temperature].index = 0', 'ds[temperature].type = "GAUGE"', 'ds[temperature].min = NaN', 'ds[temperature].max = NaN', 'rra[0].cf = "AVERAGE"', 'rra[0].cdp_prep[0].value = NaN', 'rra[11].cf = "MAX"', 'x rra[2].cf = "MIN"', 'rra[3].cf = "LAST" junk', 'ds[fake].indexes = 9'].join('\n'));

  it('reads the step, the data sources in their order, and the consolidation functions from rrdtool info', () => {
    expect(info.step).toBe(60);
    expect(info.lastUpdate).toBe(1700000000);
    expect(info.sources).toEqual([{ name: 'temperature', type: 'GAUGE', min: NaN, max: NaN }, { name: 'humidity', type: 'COUNTER', min: 0, max: 100 }]);
    expect(info.cfs).toEqual(['AVERAGE', 'MAX', '"LAST" junk']);
    expect(parseRrdInfo('')).toEqual({ step: NaN, lastUpdate: NaN, sources: [], cfs: [] });
    expect(parseRrdInfo('ds[t].index = 0\n').sources[0]?.type).toBe('?');
  });

  it('gives rrdtool exactly these arguments for a board of two sources', () => {
    expect(graphArgs({ file: '/d/shed.rrd', clientId: 'shed', period: 'hour', info })).toEqual([
      'graph', '-', '--imgformat', 'PNG', '--start', '-1h', '--end', 'now', '--width', '640', '--height', '200', '--title', 'shed: last hour', '--slope-mode',
      'DEF:v0=/d/shed.rrd:temperature:AVERAGE', 'LINE2:v0#0072B2:temperature   ', 'GPRINT:v0:LAST:last %8.2lf °C', 'GPRINT:v0:MIN:min %8.2lf °C', 'GPRINT:v0:MAX:max %8.2lf °C\\l',
      'DEF:v1=/d/shed.rrd:humidity:AVERAGE', 'LINE2:v1#D55E00:humidity      ', 'GPRINT:v1:LAST:last %8.2lf %%', 'GPRINT:v1:MIN:min %8.2lf %%', 'GPRINT:v1:MAX:max %8.2lf %%\\l',
    ]);
    const lastOnly = parseRrdInfo('step = 1\nds[a:b].index = 0\nds[a:b].type = "GAUGE"\nrra[0].cf = "LAST"\n');
    const args = graphArgs({ file: '/d/x.rrd', clientId: 'x', period: 'year', info: lastOnly, width: 100, height: 50 });
    expect(args).toEqual(expect.arrayContaining(['-1y', '100', '50', 'x: last year', 'DEF:v0=/d/x.rrd:a:b:LAST', 'LINE2:v0#0072B2:a\\:b          ', 'GPRINT:v0:LAST:last %8.2lf ']));
  });

  it('draws a line per data source with its unit and last/min/max, escaping the path for DEF', () => {
    const args = graphArgs({ file: '/data/a:b.rrd', clientId: 'shed', period: 'day', info, units: { humidity: '% RH' } });
    expect(args.slice(0, 2)).toEqual(['graph', '-']);
    expect(args).toContain('-1d');
    expect(args).toContain('DEF:v0=/data/a\\:b.rrd:temperature:AVERAGE');
    expect(args).toContain('GPRINT:v0:LAST:last %8.2lf °C');
    expect(args).toContain('GPRINT:v1:MAX:max %8.2lf %% RH\\l');
    // Through rrdcached the file is flushed before it is read.
    expect(graphArgs({ file: '/d/a.rrd', clientId: 'shed', period: 'hour', info, rrdcached: 'unix:/run/r.sock' }).slice(0, 4)).toEqual(['graph', '-', '--daemon', 'unix:/run/r.sock']);
  });
});

describe('status page and the clock', () => {
  it('says when the wall clock is behind the readings’ stamps, and how far, and nothing when it is not', () => {
    const behind = renderOverview({ ...model([board()]), clock: { behindMs: 3_600_000, largestStepBackMs: 3_600_000 } });
    expect(behind).toMatch(/wall clock is 3600 s behind/);
    expect(renderOverview(model([board()]))).not.toMatch(/wall clock/);
  });
});
