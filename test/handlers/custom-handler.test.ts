import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { BaseHandler } from '../../src/handlers/base-handler.ts';
import { EXAMPLE_KEY, rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { StatusServer } from '../../src/status/status-server.ts';
import { listBoards } from '../../src/cli/list.ts';
import { checkProfiles } from '../../src/cli/check.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { REPO_ROOT } from '../helpers/repo.ts';

let h: Harness | undefined;
afterEach(async () => h?.close());

const session = (harness: Harness, id: string): ReturnType<typeof helloBoard> => helloBoard(harness.port, id);

describe('custom handlers', () => {
  it('loads a handler module and dispatches its signed message type', async () => {
    const registry = HandlerRegistry.withBuiltins();
    expect(await registry.loadModule(join(REPO_ROOT, 'test/handlers/fixtures/battery-handler.ts'))).toEqual(['BatteryHandler']);
    h = await startHarness({ solar: { ...rrduinoProfile(), handler: 'BatteryHandler' } }, { registry });
    const { c, board } = await session(h, 'solar');
    c.send(board.signedLine('b 3712'));
    c.send(board.updateLine({ temperature: 20 }));
    await waitFor(() => h!.readings.length === 1);
    expect(h.backend.stats.get('battery.reports')).toBe(1);
    expect(h.logs.lines.some((l) => l['millivolts'] === 3712 && l['clientId'] === 'solar')).toBe(true);
    c.destroy();
  });

  it('verifies the custom type’s HMAC like any other', async () => {
    const registry = HandlerRegistry.withBuiltins();
    await registry.loadModule(join(REPO_ROOT, 'test/handlers/fixtures/battery-handler.ts'));
    h = await startHarness({ solar: { ...rrduinoProfile(), handler: 'BatteryHandler' } }, { registry });
    const { c } = await session(h, 'solar');
    c.send(`b 3712 ${'0'.repeat(64)}\n`);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(h.backend.stats.get('errors.E_BAD_HMAC')).toBe(1);
  });

  it('runs an unsigned message type without a session', async () => {
    class PingHandler extends BaseHandler {
      constructor(...args: ConstructorParameters<typeof BaseHandler>) {
        super(...args);
        this.registerMessageType('p', () => this.context.count('pings'), false);
      }
    }
    h = await startHarness({ pinger: { key: EXAMPLE_KEY, handler: 'PingHandler' } }, { registry: HandlerRegistry.withBuiltins().register(PingHandler) });
    const { c } = await session(h, 'pinger');
    c.send('p\n');
    await waitFor(() => h!.backend.stats.get('pings') === 1);
    c.destroy();
  });

  it('refuses to register a class that does not extend BaseHandler', () => {
    class NotAHandler {
      static validateOptions(): void {}
    }
    expect(() => HandlerRegistry.withBuiltins().register(NotAHandler as never)).toThrow(/does not extend BaseHandler/);
  });
});

describe('a handler of its own that describes its rrd file', () => {
  const cellarProfile = (archives = ['RRA:LAST:0.5:1:100']): object => ({ key: EXAMPLE_KEY, handler: 'CellarHandler', handler_options: { file: 'cellar.rrd', step: 60, archives } });

  async function cellarRegistry(): Promise<HandlerRegistry> {
    const registry = HandlerRegistry.withBuiltins();
    await registry.loadModule(join(REPO_ROOT, 'test/handlers/fixtures/cellar-handler.ts'));
    return registry;
  }

  it('gets the silence warning after 3 of the steps it describes', async () => {
    // Readings stamped ten minutes back: the board was last heard more than 3 × 60 s ago.
    h = await startHarness({ cellar: cellarProfile() }, { registry: await cellarRegistry(), now: () => Date.now() - 600_000 });
    const { c, board } = await session(h, 'cellar');
    c.send(board.signedLine('c 12.5'));
    await waitFor(() => h!.readings.length === 1);
    expect(h.backend.checkSilence()).toBe(1);
    expect(h.logs.lines.some((l) => l['code'] === 'W_BOARD_SILENT' && l['clientId'] === 'cellar')).toBe(true);
    c.destroy();
  });

  it('gets its graphs on the status page', async () => {
    h = await startHarness({ cellar: cellarProfile() }, { registry: await cellarRegistry() });
    const { c, board } = await session(h, 'cellar');
    c.send(board.signedLine('c 12.5'));
    await waitFor(() => h!.readings.length === 1);
    const server = new StatusServer({ backend: h.backend, destinations: () => [], logger: h.logs.logger, version: 'test' });
    const { port } = await server.listen('127.0.0.1', 0);
    try {
      const board = await fetch(`http://127.0.0.1:${port}/board/cellar`);
      expect(await board.text()).toContain('/graph/cellar/hour.png');
      const png = await fetch(`http://127.0.0.1:${port}/graph/cellar/hour.png`);
      expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png']);
    } finally {
      await server.close();
    }
    c.destroy();
  });

  it('gets its row in list, with its file and last value', async () => {
    const registry = await cellarRegistry();
    h = await startHarness({ cellar: cellarProfile() }, { registry });
    const { c, board } = await session(h, 'cellar');
    c.send(board.signedLine('c 12.5'));
    await waitFor(() => h!.readings.length === 1);
    const rows = await listBoards(h.profilesDir, h.dataDir, () => undefined, { registry });
    expect(rows.map((r) => [r.clientId, r.rrdFile, r.state])).toEqual([['cellar', join(h.dataDir, 'cellar.rrd'), 'ok']]);
    c.destroy();
  });

  it('gets check’s rrdtool check of the create arguments it describes', async () => {
    const registry = await cellarRegistry();
    const { dir, cleanup } = await tempDir();
    try {
      await writeProfileFile(dir, 'good', cellarProfile());
      await writeProfileFile(dir, 'bad', cellarProfile(['RRA:NOSUCH:0.5:1:100']));
      const out: string[] = [];
      expect(await checkProfiles(dir, (l) => out.push(l), registry)).toBe(1);
      expect(out.join('\n')).toMatch(/E_PROFILE_RRD: .*bad\.json: rrdtool refuses/);
      expect(out).toContain('ok      good (CellarHandler)');
    } finally {
      await cleanup();
    }
  });
});
