import { describe, expect, it } from 'vitest';
import { BoardRegistry } from '../../src/status/board-registry.ts';
import { stepSecondsOf } from '../../src/gateway.ts';
import { memoryLogger } from '../helpers/fixtures.ts';

describe('BoardRegistry', () => {
  it('warns once when a board is silent for more than its limit, and says when it is back', () => {
    const logs = memoryLogger('info');
    let now = 1_000_000;
    const r = new BoardRegistry(logs.logger, () => now);
    r.connected('shed', 'tcp', '127.0.0.1:5000');
    r.seen('shed', new Map([['temperature', 20]]), now);
    const limit = (): number => 180_000; // 3 × a 60 s step
    now += 180_000;
    expect(r.checkSilence(limit)).toBe(0);
    now += 1;
    expect(r.checkSilence(limit)).toBe(1);
    now += 60_000;
    expect(r.checkSilence(limit)).toBe(1);
    const silent = logs.lines.filter((l) => l['code'] === 'W_BOARD_SILENT');
    expect(silent).toHaveLength(1);
    expect(silent[0]).toMatchObject({ level: 40, clientId: 'shed', limitSeconds: 180 });
    expect(r.get('shed')?.silentSinceMs).toBe(1_000_000);
    r.seen('shed', new Map([['temperature', 21]]), now);
    expect(r.get('shed')?.silentSinceMs).toBeUndefined();
    expect(logs.lines.some((l) => l['msg'] === 'board is reporting again' && l['silentSeconds'] === 240)).toBe(true);
  });

  it('counts errors per board and keeps the last', () => {
    const r = new BoardRegistry(memoryLogger().logger, () => 5);
    r.error('shed', 'E_BAD_HMAC');
    r.error('shed', 'E_BAD_HMAC');
    r.error('shed', 'E_RRD_COMMAND');
    expect([...(r.get('shed')?.errors ?? [])]).toEqual([['E_BAD_HMAC', 2], ['E_RRD_COMMAND', 1]]);
    expect(r.get('shed')?.lastError).toEqual({ code: 'E_RRD_COMMAND', atMs: 5 });
  });
});

describe('stepSecondsOf', () => {
  it("reads the rrd step of a profile's create arguments, rrdtool's 300 s by default", () => {
    expect(stepSecondsOf({ create: ['--step', '60', 'DS:t:GAUGE:120:U:U'] })).toBe(60);
    expect(stepSecondsOf({ create: ['-s', '10'] })).toBe(10);
    expect(stepSecondsOf({ create: ['--step=30'] })).toBe(30);
    expect(stepSecondsOf({ create: ['DS:t:GAUGE:600:U:U'] })).toBe(300);
    expect(stepSecondsOf({})).toBeUndefined();
  });
});
