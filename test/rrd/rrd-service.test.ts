import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RrdError } from '../../src/errors.ts';
import { RrdService } from '../../src/rrd/rrd-service.ts';
import { RrdtoolProcess } from '../../src/rrd/rrdtool-process.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

const CREATE = ['--step', '1', 'DS:t:GAUGE:600:-100:1000', 'RRA:LAST:0.5:1:100'];
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());


describe('RrdtoolProcess (real rrdtool -)', () => {
  it('answers commands in order with their output', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    const file = join(dir, 'a.rrd');
    await p.run(['create', file, ...CREATE]);
    await p.run(['update', file, 'N:42']);
    const out = await p.run(['lastupdate', file]);
    expect(out.join('\n')).toMatch(/: 42/);
    await p.close();
  });

  it('rejects an rrdtool error with E_RRD_COMMAND and goes on', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    await expect(p.run(['update', join(dir, 'missing.rrd'), 'N:1'])).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    await p.run(['create', join(dir, 'b.rrd'), ...CREATE]);
    await p.close();
  });

  it('fails pending commands with E_RRD_DIED when rrdtool dies, then restarts', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    const file = join(dir, 'c.rrd');
    await p.run(['create', file, ...CREATE]);
    const pending = p.run(['update', file, 'N:1']);
    process.kill(p.pid as number, 'SIGKILL');
    // Either answered just before the kill, or failed with E_RRD_DIED.
    await pending.catch((err: unknown) => expect((err as RrdError).code).toBe('E_RRD_DIED'));
    await new Promise((r) => setTimeout(r, 50));
    await p.run(['update', file, 'N:2']);
    await p.close();
  });

  it('refuses commands after close', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    await p.close();
    await expect(p.run(['info', 'x'])).rejects.toMatchObject({ code: 'E_RRD_CLOSED' });
  });
});

describe('RrdService', () => {
  it('creates a file on first use, in a new subdirectory, and not twice', async () => {
    const rrd = new RrdService({ processes: 2, logger: memoryLogger().logger });
    const file = join(dir, 'sub', 'd.rrd');
    await Promise.all([rrd.ensure(file, CREATE), rrd.ensure(file, CREATE)]);
    await rrd.update(file, 'N:7');
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '7' });
    await rrd.close();
  });

  it('keeps an existing file (create never overwrites)', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'e.rrd');
    await rrd.ensure(file, CREATE);
    await rrd.update(file, 'N:5');
    await rrd.close();
    const again = new RrdService({ processes: 1, logger: memoryLogger().logger });
    await again.ensure(file, CREATE);
    expect((await again.lastUpdate(file)).values).toEqual({ t: '5' });
    await again.close();
  });

  it('retries an update once when rrdtool died under it', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'f.rrd');
    await rrd.ensure(file, CREATE);
    const update = rrd.update(file, 'N:9');
    for (const pid of rrd.pids) process.kill(pid, 'SIGKILL');
    await update; // either it was answered before the kill, or the retry went through
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '9' });
    await rrd.close();
  });
});

describe('RrdService coalescing', () => {
  it('stores every one of many queued updates for one file, in order', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'g.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Date.now();
    // 300 updates in the same millisecond: more than one command's batch, all equal times.
    await Promise.all(Array.from({ length: 300 }, (_, i) => rrd.update(file, `N:${i}`, t0)));
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '299' });
    await rrd.close();
  });

  it('rejects every update of a batch when the file is broken', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'not-an-rrd.rrd');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, 'garbage'));
    const results = await Promise.allSettled([rrd.update(file, 'N:1'), rrd.update(file, 'N:2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await rrd.close();
  });
});
