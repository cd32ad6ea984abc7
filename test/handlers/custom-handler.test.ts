import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { BaseHandler } from '../../src/handlers/base-handler.ts';
import { EXAMPLE_KEY, rrduinoProfile, waitFor } from '../helpers/fixtures.ts';
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
