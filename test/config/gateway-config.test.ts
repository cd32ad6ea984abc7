import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/gateway-config.ts';
import { tempDir } from '../helpers/fixtures.ts';

describe('gateway config', () => {
  it('accepts serial ports with baud and look-ahead', () => {
    expect(validateConfig({ port: 60405, serial: [{ path: '/dev/ttyUSB0', baud: 115200, lookahead: 2 }] }, 'g.json').serial?.[0]?.baud).toBe(115200);
  });
  it('names the file and field of an error', () => {
    expect(() => validateConfig({ serial: [{ path: 'ttyUSB0' }] }, 'g.json')).toThrow(/g\.json: \/serial\/0\/path/);
    expect(() => validateConfig({ prot: 1 }, 'g.json')).toThrow(/unknown field 'prot'/);
  });
  it('reports unreadable JSON with E_CONFIG_INVALID', async () => {
    const { dir, cleanup } = await tempDir();
    await writeFile(join(dir, 'g.json'), '{');
    await expect(loadConfig(join(dir, 'g.json'))).rejects.toMatchObject({ code: 'E_CONFIG_INVALID' });
    await cleanup();
  });
});
