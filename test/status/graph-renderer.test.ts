import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GraphRenderer, MAX_QUEUED_COMMANDS } from '../../src/status/graph-renderer.ts';
import { tempDir, waitFor } from '../helpers/fixtures.ts';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('GraphRenderer', () => {
  it('draws with rrdtool once per cache time, sharing a drawing under way', async () => {
    const file = join(dir, 'a.rrd');
    await run('rrdtool', ['create', file, '--step', '60', 'DS:t:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:100']);
    let now = 0;
    const g = new GraphRenderer({ now: () => now });
    let asked = 0;
    const args = async (): Promise<string[]> => {
      asked++;
      return ['graph', '-', '--start', '-1h', `DEF:t=${file}:t:AVERAGE`, 'LINE1:t#000000:t'];
    };
    const [a, b] = await Promise.all([g.render('k', 1000, args), g.render('k', 1000, args)]);
    expect(a.subarray(1, 4).toString()).toBe('PNG');
    expect(b).toBe(a);
    now = 999;
    expect(await g.render('k', 1000, args)).toBe(a);
    expect(asked).toBe(1);
    now = 1000;
    await g.render('k', 1000, args);
    expect(asked).toBe(2);
    expect((await g.info(file)).sources.map((s) => s.name)).toEqual(['t']);
  });

  it("answers rrdtool's own words when it cannot draw", async () => {
    const g = new GraphRenderer();
    await expect(g.render('x', 1000, async () => ['graph', '-', `DEF:t=${join(dir, 'missing.rrd')}:t:AVERAGE`, 'LINE1:t#000000'])).rejects.toThrow(/opening .*missing\.rrd/);
  });

  it('refuses a new drawing with E_GRAPH_BUSY while its bound of commands wait, and draws the waiting ones', async () => {
    // An rrdtool that draws only once the test opens the gate.
    const gate = join(dir, 'gate');
    const binary = join(dir, 'slow-rrdtool.sh');
    await writeFile(binary, `#!/bin/sh\nwhile [ ! -e '${gate}' ]; do sleep 0.02; done\nprintf 'png'\n`);
    await chmod(binary, 0o755);
    const g = new GraphRenderer({ binary });
    const args = async (): Promise<string[]> => ['graph', '-'];
    const waiting = Array.from({ length: MAX_QUEUED_COMMANDS }, (_, i) => g.render(`k${i}`, 1000, args));
    await waitFor(() => g.queued === MAX_QUEUED_COMMANDS, 10_000, 'the bound reached');
    await expect(g.render('one-more', 1000, args)).rejects.toMatchObject({ code: 'E_GRAPH_BUSY' });
    const shared = g.render('k0', 1000, args); // one being drawn is shared, not refused
    await writeFile(gate, '');
    expect((await shared).toString()).toBe('png');
    expect((await Promise.all(waiting)).map((b) => b.toString())).toEqual(Array(MAX_QUEUED_COMMANDS).fill('png'));
    expect((await g.render('after', 1000, args)).toString()).toBe('png');
  });
});
