import { describe, expect, it } from 'vitest';
import { BoardRegistry } from '../../src/backend/board-registry.ts';
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

  it('knows which boards are connected, logs each connect and disconnect once, and lists boards by id', () => {
    const logs = memoryLogger('info');
    const r = new BoardRegistry(logs.logger, () => 0);
    r.connected('shed', 'tcp', '10.0.0.5:1');
    r.connected('attic', 'serial', '/dev/ttyACM0');
    expect(r.connectedCount).toBe(2);
    r.disconnected('shed', 'link closed');
    r.disconnected('shed', 'link closed');
    expect(r.connectedCount).toBe(1);
    expect(r.all().map((b) => [b.clientId, b.connected, b.transport])).toEqual([['attic', true, 'serial'], ['shed', false, 'tcp']]);
    expect(logs.lines.filter((l) => String(l['msg']).startsWith('board ')).map((l) => [l['msg'], l['clientId'], l['remote'] ?? null, l['reason'] ?? null])).toEqual([
      ['board connected', 'shed', '10.0.0.5:1', null],
      ['board connected', 'attic', '/dev/ttyACM0', null],
      ['board disconnected', 'shed', '10.0.0.5:1', 'link closed'],
    ]);
  });

  it('does not call a board silent before it was ever heard, or without a limit', () => {
    const logs = memoryLogger('info');
    let now = 0;
    const r = new BoardRegistry(logs.logger, () => now);
    r.connected('quiet', 'tcp', 'x');
    r.seen('nolimit', new Map(), 0);
    now = 10_000_000;
    expect(r.checkSilence((id) => (id === 'nolimit' ? undefined : 1000))).toBe(0);
    expect(logs.lines.some((l) => l['code'] === 'W_BOARD_SILENT')).toBe(false);
  });

  it("shows each board's newest values: new keys added, missing ones dropped, a reader's copy not changed", () => {
    const reg = new BoardRegistry(memoryLogger().logger);
    const first = new Map<string, number | null>([['temperature', 20], ['humidity', 40]]);
    reg.seen('porch', first, 1000);
    const shown = [...(reg.get('porch')?.lastValues ?? [])];
    reg.seen('porch', new Map<string, number | null>([['humidity', 41], ['adc', 512]]), 2000);
    expect([...(reg.get('porch')?.lastValues ?? [])]).toEqual([['humidity', 41], ['adc', 512]]);
    reg.seen('porch', new Map<string, number | null>([['humidity', null], ['adc', 513]]), 3000);
    expect([...(reg.get('porch')?.lastValues ?? [])]).toEqual([['humidity', null], ['adc', 513]]);
    expect(reg.get('porch')?.lastSeenMs).toBe(3000);
    expect(shown).toEqual([['temperature', 20], ['humidity', 40]]);
    expect([...first]).toEqual([['temperature', 20], ['humidity', 40]]); // the reading's own map is left as it was
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
