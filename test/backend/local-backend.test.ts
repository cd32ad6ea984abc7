import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActiveSession } from '../../src/backend/backend.ts';
import { LocalBackend } from '../../src/backend/local-backend.ts';
import { HandlerRegistry } from '../../src/handlers/handler-registry.ts';
import { ProfileStore } from '../../src/profiles/profile-store.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
let backend: LocalBackend | undefined;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  await backend?.close();
  backend = undefined;
  await cleanup();
});

function session(transport: string, remote: string): ActiveSession & { superseded: number } {
  const s = { link: { transport, remote }, superseded: 0, supersede: () => void s.superseded++ };
  return s;
}

describe('LocalBackend, two boards with one id', () => {
  const make = (): { b: LocalBackend; logs: ReturnType<typeof memoryLogger> } => {
    const logs = memoryLogger();
    backend = new LocalBackend({ logger: logs.logger, dataDir: join(dir, 'data'), profiles: new ProfileStore(join(dir, 'profiles'), HandlerRegistry.withBuiltins(), () => undefined) });
    return { b: backend, logs };
  };
  const warnings = (logs: ReturnType<typeof memoryLogger>): unknown[] => logs.lines.filter((l) => l['code'] === 'W_DUPLICATE_ID').map((l) => l['addresses']);

  it('warns once an hour per id, naming both addresses, and counts every take-over', () => {
    const { b, logs } = make();
    const first = session('tcp', '10.0.0.5:4000');
    b.claim('shed', first);
    b.claim('shed', session('tcp', '10.0.0.9:4100'));
    b.claim('shed', session('tcp', '10.0.0.5:4001'));
    expect(first.superseded).toBe(1);
    expect(warnings(logs)).toEqual([['10.0.0.5:4000', '10.0.0.9:4100']]);
    expect(b.stats.get('errors.W_DUPLICATE_ID')).toBe(2);
  });

  it('says nothing when a board reconnects from its own host (a new port) or its own serial port', () => {
    const { b, logs } = make();
    b.claim('shed', session('tcp', '10.0.0.5:4000'));
    b.claim('shed', session('tcp', '10.0.0.5:4001'));
    b.claim('porch', session('serial', '/dev/ttyACM0'));
    b.claim('porch', session('serial', '/dev/ttyACM0'));
    expect(warnings(logs)).toEqual([]);
    expect(b.stats.get('errors.W_DUPLICATE_ID')).toBe(0);
  });

  it('tells two serial ports apart', () => {
    const { b, logs } = make();
    b.claim('porch', session('serial', '/dev/ttyACM0'));
    b.claim('porch', session('serial', '/dev/ttyUSB0'));
    expect(warnings(logs)).toEqual([['/dev/ttyACM0', '/dev/ttyUSB0']]);
  });
});
