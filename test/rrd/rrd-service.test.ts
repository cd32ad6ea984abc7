import { execFile, spawn } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RrdService, whileLocked } from '../../src/rrd/rrd-service.ts';
import { isLockedError } from '../../src/rrd/rrd-lines.ts';
import { RrdtoolProcess } from '../../src/rrd/rrdtool-process.ts';
import type { RrdError } from '../../src/errors.ts';
import { memoryLogger, tempDir, waitFor } from '../helpers/fixtures.ts';
import { fetchValues, lastUpdate } from '../helpers/rrd-read.ts';
import { stubRrdtool } from '../helpers/stub-rrdtool.ts';
import { canMount, Tmpfs } from '../helpers/tmpfs.ts';

const CREATE = ['--step', '1', 'DS:t:GAUGE:600:-100:1000', 'RRA:LAST:0.5:1:100'];
const run = promisify(execFile);
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

  it('fails the pending command with E_RRD_DIED when rrdtool dies under it, and starts a new one for the next', async () => {
    const stub = await stubRrdtool(dir, 'update', 'once');
    const p = new RrdtoolProcess({ binary: stub.binary, logger: memoryLogger().logger });
    await expect(p.run(['update', 'x.rrd', 'N:1'])).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    await expect(p.run(['info', 'x.rrd'])).resolves.toEqual([]);
    expect(await stub.commands()).toEqual(['update x.rrd N:1', 'info x.rrd']);
    await p.close();
  });

  it('logs what rrdtool writes to stderr, output nobody asked for, and an exit nobody asked for', { timeout: 30_000 }, async () => {
    const stub = await stubRrdtool(dir, 'update', 'always', { trailer: 'more than asked', stderr: 'a warning' });
    const logs = memoryLogger();
    const p = new RrdtoolProcess({ binary: stub.binary, logger: logs.logger });
    await p.run(['info', 'x.rrd']);
    // The trailer may come in a read of its own after the OK; a command sent before it arrives
    // would take it as its own output (a pipe cannot tell), so the next command waits for it.
    await waitFor(() => logs.lines.some((l) => l['line'] === 'more than asked'), 20_000, 'the unasked output logged');
    await expect(p.run(['update', 'x.rrd', 'N:1'])).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    // The pipes and the exit are separate events: stderr may be read after the command was answered.
    await waitFor(() => logs.lines.some((l) => l['stderr'] === 'a warning'), 20_000, 'the stderr line logged');
    await waitFor(() => logs.lines.some((l) => l['level'] === 50 && l['code'] === 1), 20_000, 'the exit logged'); // exited with code 1
    await p.close();
  });


  it('does not log the exit it asked for at close', async () => {
    const logs = memoryLogger();
    const p = new RrdtoolProcess({ logger: logs.logger });
    await p.run(['info', join(dir, 'none.rrd')]).catch(() => undefined);
    await p.close();
    expect(logs.lines.filter((l) => l['level'] === 50)).toEqual([]);
  });

  it('fails commands with E_RRD_DIED when rrdtool cannot be started at all', async () => {
    const logs = memoryLogger();
    const p = new RrdtoolProcess({ binary: join(dir, 'no-such-rrdtool'), logger: logs.logger });
    await expect(p.run(['info', 'x.rrd'])).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    expect(logs.lines.some((l) => /cannot run rrdtool/.test(String(l['msg'])))).toBe(true);
    await p.close();
  });

  it('restarts after the real rrdtool was killed between commands', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    const file = join(dir, 'c.rrd');
    await p.run(['create', file, ...CREATE]);
    const pid = p.pid as number;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100)); // let the exit be seen
    await p.run(['update', file, 'N:2']);
    expect(p.pid).not.toBe(pid);
    await p.close();
  });

  it('runs a command sent in the same turn as close (commands wait for the turn\'s one write)', async () => {
    const p = new RrdtoolProcess({ logger: memoryLogger().logger });
    const file = join(dir, 'late.rrd');
    await p.run(['create', file, ...CREATE]);
    const late = p.run(['update', file, 'N:11']);
    await p.close();
    await expect(late).resolves.toEqual([]);
    const again = new RrdtoolProcess({ logger: memoryLogger().logger });
    expect((await again.run(['lastupdate', file])).join('\n')).toMatch(/: 11/);
    await again.close();
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

  it('retries an update once, skipping what was written, when rrdtool died under it', async () => {
    const stub = await stubRrdtool(dir, 'update', 'once');
    const rrd = new RrdService({ processes: 1, binary: stub.binary, logger: memoryLogger().logger });
    await rrd.update('f.rrd', 'N:9', 1_700_000_000_000);
    const updates = (await stub.commands()).filter((c) => c.startsWith('update'));
    expect(updates).toEqual(['update f.rrd 1700000000:9', 'update f.rrd --skip-past-updates 1700000000:9']);
    await rrd.close();
  });

  it('gives up after one retry when rrdtool dies again', async () => {
    const stub = await stubRrdtool(dir, 'update', 'always');
    const rrd = new RrdService({ processes: 1, binary: stub.binary, logger: memoryLogger().logger });
    await expect(rrd.update('f.rrd', 'N:9', 1_700_000_000_000)).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    expect((await stub.commands()).filter((c) => c.startsWith('update'))).toHaveLength(2);
    await rrd.close();
  });
});

describe('RrdService, the details', () => {
  it('refuses a process count outside 1..64, or not whole', () => {
    for (const processes of [0, 65, 1.5]) {
      expect(() => new RrdService({ processes, logger: memoryLogger().logger })).toThrow(expect.objectContaining({ code: 'E_CONFIG_INVALID' }));
    }
    for (const processes of [1, 64]) void new RrdService({ processes, logger: memoryLogger().logger }).close();
  });

  it('reads lastupdate with several data sources and its time', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'two.rrd');
    await rrd.ensure(file, ['--start', '1699999990', '--step', '1', 'DS:temperature:GAUGE:600:U:U', 'DS:humidity:GAUGE:600:U:U', 'RRA:LAST:0.5:1:10']);
    await rrd.update(file, '1700000000:21.5:40');
    const last = await rrd.lastUpdate(file);
    expect(last).toEqual({ time: new Date(1_700_000_000_000), values: { temperature: '21.5', humidity: '40' } });
    await rrd.close();
  });

  it('sends a value with its own timestamp as it is, not coalesced under the gateway clock', async () => {
    const stub = await stubRrdtool(dir, 'never', 'always');
    const rrd = new RrdService({ processes: 1, binary: stub.binary, logger: memoryLogger().logger });
    await rrd.update('f.rrd', '1700000000:5', 1_800_000_000_000);
    expect(await stub.commands()).toEqual(['update f.rrd 1700000000:5']);
    await rrd.close();
  });

  it('tries to create a file again after a creation failed', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'again.rrd');
    await expect(rrd.ensure(file, ['DS:bad'])).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    await rrd.ensure(file, CREATE);
    await rrd.update(file, 'N:3');
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '3' });
    await rrd.close();
  });

  it('keeps each file on one process, spread over several', async () => {
    const stub = await stubRrdtool(dir, 'never', 'always');
    const rrd = new RrdService({ processes: 4, binary: stub.binary, logger: memoryLogger().logger });
    await Promise.all(Array.from({ length: 40 }, (_, i) => rrd.update(`f${i % 8}.rrd`, 'N:1', 1_700_000_000_000 + i * 1000)));
    expect(new Set(rrd.pids).size).toBeGreaterThan(1);
    await rrd.close();
  });
});

describe('RrdService, more details', () => {
  it('keeps taking updates for a file after its earlier ones were written', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'later.rrd');
    await rrd.ensure(file, CREATE);
    const t = Math.floor(Date.now() / 1000) * 1000;
    await rrd.update(file, 'N:1', t + 1000);
    await rrd.update(file, 'N:2', t + 2000);
    await rrd.update(file, 'N:3', t + 3000);
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '3' });
    await rrd.close();
  });

  it('does not retry an update rrdtool refused (only one that died with it)', async () => {
    const stub = await stubRrdtool(dir, 'never', 'always', { errorOn: 'update' });
    const rrd = new RrdService({ processes: 1, binary: stub.binary, logger: memoryLogger().logger });
    await expect(rrd.update('f.rrd', 'N:1', 1_700_000_000_000)).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    expect((await stub.commands()).filter((c) => c.startsWith('update'))).toHaveLength(1);
    await rrd.close();
  });

  it('says E_RRD_COMMAND when lastupdate has no data line', async () => {
    const stub = await stubRrdtool(dir, 'never', 'always');
    const rrd = new RrdService({ processes: 1, binary: stub.binary, logger: memoryLogger().logger });
    await expect(rrd.lastUpdate('f.rrd')).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    await rrd.close();
  });
});

describe('RrdService coalescing', () => {
  it('stores the first reading of each second of a file, and answers the others of that second as coalesced', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'g.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    // 300 updates within one second: one is stored, whole-second stamps cannot hold more.
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => rrd.update(file, `N:${i}`, t0 + i)));
    expect(results[0]?.status).toBe('fulfilled');
    expect(results.slice(1).every((r) => r.status === 'rejected' && (r.reason as RrdError).code === 'W_RRD_COALESCED')).toBe(true);
    expect(await rrd.update(file, 'N:300', t0 + 1_000)).toBeUndefined(); // the next second is free
    await rrd.close();
    expect(await lastUpdate(file)).toMatch(new RegExp(`${t0 / 1000 + 1}: 300\\n`));
  });

  it('stamps whole seconds, so the step in which a board stops holds what it sent', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'edge.rrd');
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 100_000;
    await rrd.ensure(file, ['--start', String(t0 / 1000 - 1), '--step', '10', 'DS:t:GAUGE:30:U:U', 'RRA:AVERAGE:0.5:1:100']);
    // 18.0 every second, at 0.417 s past each, a silence longer than the heartbeat, and 18.0 again:
    // with fractional stamps rrdtool 1.7 stores less than 18 for the step in which the board stopped.
    for (let i = 0; i < 25; i++) await rrd.update(file, 'N:18', t0 + i * 1000 + 417);
    for (let i = 85; i < 95; i++) await rrd.update(file, 'N:18', t0 + i * 1000 + 417);
    await rrd.close();
    const known = await fetchValues(file, { start: t0 / 1000, end: t0 / 1000 + 100 }, 'AVERAGE');
    expect(known.length).toBeGreaterThan(0);
    expect(known.every((v) => v === 18)).toBe(true);
  });

  it('stores every value of a burst to one file, in order, one second apart', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'burst.rrd');
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 400_000;
    // Starting one step before the first update: rrdtool fills (start, first update] with the first value.
    await rrd.ensure(file, ['--start', String(t0 / 1000 - 1), '--step', '1', 'DS:t:GAUGE:600:U:U', 'RRA:LAST:0.5:1:1000']);
    // A clock one second further for each update; all queued at once, so they are coalesced.
    const values = Array.from({ length: 300 }, (_, i) => (i * 7919) % 1000);
    await Promise.all(values.map((v, i) => rrd.update(file, `N:${v}`, t0 + i * 1000)));
    await rrd.close();
    expect(await fetchValues(file, { start: t0 / 1000 - 1, end: t0 / 1000 + 300 })).toEqual(values);
  });

  it('stores coalesced updates to a file whose path has blanks', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'with blank', 'porch board.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Date.now() - 5_000;
    await Promise.all([rrd.update(file, 'N:1', t0), rrd.update(file, 'N:2', t0 + 1_000)]);
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '2' });
    await rrd.close();
  });

  it('sends a value with a blank alone, so the values queued beside it are stored', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'blank-value.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Date.now() - 5_000;
    const results = await Promise.allSettled([rrd.update(file, 'N:5', t0), rrd.update(file, 'N:6 7', t0 + 1000), rrd.update(file, 'N:8', t0 + 2000)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await rrd.lastUpdate(file)).values).toEqual({ t: '8' });
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

/**
 * Holds a POSIX read lock on `file` for `ms`, as rrdtool's readers (graph, fetch, lastupdate) do;
 * resolves once the lock is held, with a promise of its release.
 */
async function holdReadLock(file: string, ms: number): Promise<{ released: Promise<void> }> {
  const script = 'import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDONLY)\nfcntl.lockf(fd, fcntl.LOCK_SH)\nprint("locked", flush=True)\ntime.sleep(float(sys.argv[2]))';
  const child = spawn('python3', ['-c', script, file, String(ms / 1000)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('error', reject);
  });
  return { released };
}

describe('RrdService, a file another program has locked', () => {
  it('stores an update that met the lock, once it is let go', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'locked.rrd');
    await rrd.ensure(file, CREATE);
    const lock = await holdReadLock(file, 300);
    const started = Date.now();
    await rrd.update(file, 'N:17');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200); // it did wait for the lock
    await lock.released;
    await rrd.close();
    expect(await lastUpdate(file)).toMatch(/: 17\n/);
  });

  it('fails with E_RRD_COMMAND naming the lock when the file stays locked past the wait, and writes the next update', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger, lockWaitMs: 100 });
    const file = join(dir, 'held.rrd');
    await rrd.ensure(file, CREATE);
    const lock = await holdReadLock(file, 600);
    const err = await rrd.update(file, 'N:1').then(() => undefined, (e: unknown) => e as RrdError);
    expect(err?.code).toBe('E_RRD_COMMAND');
    expect(err?.message).toMatch(/could not lock RRD: another program held the file's lock for 0.1 s/);
    await lock.released;
    await rrd.update(file, 'N:2');
    await rrd.close();
    expect(await lastUpdate(file)).toMatch(/: 2\n/);
  });

  it('loses no update while rrdtool graph draws the file over and over beside them', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'drawn.rrd');
    // Stamps of its own, all in the past however long the loop runs (at most 900 of them, 1 s
    // apart), and read back by that range: never "up to now" (a busy machine's loop ran past it).
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 1_000_000;
    await rrd.ensure(file, ['--start', String(t0 / 1000 - 1), '--step', '1', 'DS:t:GAUGE:600:U:U', 'RRA:LAST:0.5:1:1000']);
    let drawing = true;
    let graphs = 0;
    // Three programs drawing it at once, as a page with its graphs open in a few browsers would.
    const graphLoops = [0, 1, 2].map(async () => {
      while (drawing) {
        await run('rrdtool', ['graph', '/dev/null', '--start', String(t0 / 1000), '--end', String(t0 / 1000 + 900), `DEF:t=${file}:t:LAST`, 'LINE1:t#000000']).catch(() => undefined);
        graphs++;
      }
    });
    // One at a time, so each value is a command of its own; on until the graphs were drawn often.
    const values: number[] = [];
    for (let i = 0; i < 900 && (i < 300 || graphs < 30); i++) {
      values.push((i * 7919) % 1000);
      await rrd.update(file, `N:${values[i] as number}`, t0 + i * 1000);
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 2));
    }
    drawing = false;
    await Promise.all(graphLoops);
    await rrd.close();
    expect(graphs).toBeGreaterThanOrEqual(30);
    expect(await fetchValues(file, { start: t0 / 1000 - 1, end: t0 / 1000 + 900 })).toEqual(values);
  });
});

describe('RrdService, a file that disappears while it runs', () => {
  it('makes the file again from its create arguments and stores the update that found it gone, coalesced or alone', async () => {
    const logs = memoryLogger();
    const rrd = new RrdService({ processes: 1, logger: logs.logger });
    const file = join(dir, 'porch.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Date.now() - 5_000;
    await rrd.update(file, 'N:1', t0);
    await rm(file);
    await rrd.update(file, 'N:2', t0 + 1_000); // the gateway-stamped path, coalesced per file
    expect(await lastUpdate(file)).toMatch(/: 2\n/);
    await rm(file);
    const t = Math.floor(Date.now() / 1000) + 5;
    await rrd.update(file, `${t}:3`); // a value with its own timestamp goes alone
    await rrd.close();
    expect(await lastUpdate(file)).toMatch(new RegExp(`${t}: 3\\n`));
    expect(logs.lines.filter((l) => l['code'] === 'W_RRD_RECREATED').map((l) => l['path'])).toEqual([file, file]);
  });

  it('does not make it again when its directory is gone too, and says so', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const sub = join(dir, 'mounted');
    const file = join(sub, 'porch.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Date.now() - 5_000;
    await rrd.update(file, 'N:1', t0);
    await rm(sub, { recursive: true });
    const err = await rrd.update(file, 'N:2', t0 + 1_000).then(() => undefined, (e: unknown) => e as RrdError);
    await rrd.close();
    expect(err?.code).toBe('E_RRD_COMMAND');
    expect(err?.message).toMatch(/its directory .*mounted is gone too/);
    await expect(access(sub)).rejects.toThrow(/ENOENT/);
  });

  it('does not make a file it never made or found', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'never.rrd');
    await expect(rrd.update(file, 'N:1')).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    await rrd.close();
    await expect(access(file)).rejects.toThrow(/ENOENT/);
  });
});

describe('whileLocked', () => {
  it("reads again while rrdtool says the file is locked, and gives up at once on anything else", async () => {
    let calls = 0;
    const locked = async (): Promise<string> => {
      calls++;
      if (calls < 3) throw new Error('Command failed: rrdtool last x.rrd\nERROR: could not lock RRD');
      return 'read';
    };
    expect(await whileLocked(locked)).toBe('read');
    expect(calls).toBe(3);
    calls = 0;
    await expect(whileLocked(async () => {
      calls++;
      throw new Error('ERROR: opening x.rrd: No such file or directory');
    })).rejects.toThrow(/No such file/);
    expect(calls).toBe(1);
  });

  it('tells the lock answer from other rrdtool errors', () => {
    expect(isLockedError(new Error('ERROR: could not lock RRD'))).toBe(true);
    expect(isLockedError(new Error("ERROR: opening 'x.rrd': No such file or directory"))).toBe(false);
  });
});

describe('RrdService, one value per file and second', () => {
  it('answers a coalesced update after the file’s earlier updates, so answers keep the updates’ order', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'order.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    const order: string[] = [];
    await Promise.allSettled([
      rrd.update(file, 'N:1', t0).then(() => order.push('first')),
      rrd.update(file, 'N:2', t0 + 500).catch(() => order.push('coalesced')),
    ]);
    expect(order).toEqual(['first', 'coalesced']);
    await rrd.close();
  });

  it('frees the second of an update that failed, so the next reading of that second is stored', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const file = join(dir, 'bad-then-good.rrd');
    await rrd.ensure(file, CREATE);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    await expect(rrd.update(file, 'N:1:2', t0)).rejects.toMatchObject({ code: 'E_RRD_COMMAND' }); // two values, one source
    await expect(rrd.update(file, 'N:3', t0 + 100)).resolves.toBeUndefined();
    await rrd.close();
    expect(await lastUpdate(file)).toMatch(/: 3\n/);
  });

  it('keeps each file’s seconds apart: another file may use the same second', async () => {
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    const a = join(dir, 'a.rrd');
    const b = join(dir, 'b.rrd');
    await rrd.ensure(a, CREATE);
    await rrd.ensure(b, CREATE);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 5_000;
    await rrd.update(a, 'N:1', t0);
    await expect(rrd.update(b, 'N:2', t0)).resolves.toBeUndefined();
    await rrd.close();
  });
});

describe('RrdService on a full disk', () => {
  it.skipIf(!canMount)('names a full disk when rrdtool answers OK to a create that made no file, and makes it once there is room', async () => {
    const fs = await Tmpfs.mount(join(dir, 'small'), 256);
    const rrd = new RrdService({ processes: 1, logger: memoryLogger().logger });
    try {
      const filler = await fs.fill();
      const file = join(fs.dir, 'porch.rrd');
      await expect(rrd.ensure(file, CREATE)).rejects.toMatchObject({ code: 'E_DISK_FULL' });
      await rm(filler);
      await rrd.ensure(file, CREATE);
      await rrd.update(file, 'N:7', Date.now() - 2_000);
      await rrd.close();
      expect(await lastUpdate(file)).toMatch(/: 7\n/);
    } finally {
      await rrd.close();
      await fs.unmount();
    }
  });
});
