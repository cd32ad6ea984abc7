import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RrdError } from '../../src/errors.ts';
import { HOLD_MS, REPLAY_WINDOW_MS, retryingOnDeath, ShardedRrdtool, ViaRrdcached, waitingOnLocks, type RrdLines } from '../../src/rrd/rrd-lines.ts';
import { RrdtoolProcess, type RrdReply } from '../../src/rrd/rrdtool-process.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';
import { stubRrdtool } from '../helpers/stub-rrdtool.ts';

// Each part of the rrd store alone: the plain sharded store against the stub rrdtool, and
// each policy around a store that answers as the test says.

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const send = (lines: RrdLines, path: string, line: string, retryLine = line): Promise<string[]> =>
  new Promise((resolve, reject) => lines.send(path, line, retryLine, (err, out) => (err === undefined ? resolve(out) : reject(err))));

/** A store that answers each command from a script, and keeps what it was sent. */
function scripted(answers: Array<Error | undefined>): RrdLines & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    send(_path: string, line: string, _retry: string, done: RrdReply) {
      sent.push(line);
      const err = answers.shift();
      setImmediate(() => done(err, err ? [] : ['OK']));
    },
  };
}

describe('ShardedRrdtool (the stub rrdtool)', () => {
  it('sends every command of one file to the same process, in order, and answers each', async () => {
    const stub = await stubRrdtool(dir, 'never', 'always');
    const store = new ShardedRrdtool(Array.from({ length: 3 }, () => new RrdtoolProcess({ binary: stub.binary, logger: memoryLogger().logger })));
    await Promise.all(Array.from({ length: 6 }, (_, i) => send(store, '/d/a.rrd', `update /d/a.rrd ${i}`)));
    await store.close();
    const cmds = await stub.commands();
    expect(cmds.filter((c) => c.startsWith('update /d/a.rrd'))).toEqual(Array.from({ length: 6 }, (_, i) => `update /d/a.rrd ${i}`));
    expect(store.pids.length).toBe(0); // closed
  });

  it('does not send a command again itself when rrdtool dies under it: that is a policy of its own', async () => {
    const stub = await stubRrdtool(dir, 'boom', 'once');
    const store = new ShardedRrdtool([new RrdtoolProcess({ binary: stub.binary, logger: memoryLogger().logger })]);
    await expect(send(store, '/d/a.rrd', 'update /d/a.rrd boom')).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    await store.close();
  });
});

describe('retryingOnDeath', () => {
  it('sends the retry line once when rrdtool died under the command (the stub dies at it once)', async () => {
    const stub = await stubRrdtool(dir, 'boom', 'once');
    const store = new ShardedRrdtool([new RrdtoolProcess({ binary: stub.binary, logger: memoryLogger().logger })]);
    await expect(send(retryingOnDeath(store), '/d/a.rrd', 'update /d/a.rrd boom', 'update /d/a.rrd --skip-past-updates boom')).resolves.toBeDefined();
    await store.close();
    expect(await stub.commands()).toEqual(['update /d/a.rrd boom', 'update /d/a.rrd --skip-past-updates boom']);
  });

  it('gives up after the one retry when rrdtool dies again, and passes other errors on untouched', async () => {
    const died = (): RrdError => new RrdError('E_RRD_DIED', 'rrdtool died');
    const twice = scripted([died(), died()]);
    await expect(send(retryingOnDeath(twice), '/p', 'a', 'b')).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    expect(twice.sent).toEqual(['a', 'b']);
    const refused = scripted([new RrdError('E_RRD_COMMAND', 'ERROR: refused')]);
    await expect(send(retryingOnDeath(refused), '/p', 'a', 'b')).rejects.toMatchObject({ code: 'E_RRD_COMMAND' });
    expect(refused.sent).toEqual(['a']);
  });
});

describe('waitingOnLocks', () => {
  const locked = (): RrdError => new RrdError('E_RRD_COMMAND', 'ERROR: could not lock RRD');

  it('sends the same line again while the file is locked, and answers once it is free', async () => {
    const store = scripted([locked(), locked(), undefined]);
    await expect(send(waitingOnLocks(store), '/p', 'update /p 1', 'retry')).resolves.toEqual(['OK']);
    expect(store.sent).toEqual(['update /p 1', 'update /p 1', 'update /p 1']);
  });

  it('fails naming the lock once the wait is over, having written nothing', async () => {
    const store = scripted(Array.from({ length: 10 }, locked));
    await expect(send(waitingOnLocks(store, 50), '/p', 'update /p 1')).rejects.toThrow(/held the file's lock for 0.05 s.*nothing was written/);
    expect(store.sent).toHaveLength(3); // the first try and two more, 25 ms apart
  });

  it('passes any other answer on at once', async () => {
    const store = scripted([new RrdError('E_RRD_COMMAND', 'ERROR: illegal attempt to update')]);
    await expect(send(waitingOnLocks(store), '/p', 'update /p 1')).rejects.toThrow(/illegal attempt/);
    expect(store.sent).toEqual(['update /p 1']);
  });
});

describe('ViaRrdcached', () => {
  const refused = (): RrdError => new RrdError('E_RRD_COMMAND', 'ERROR: Unable to connect to rrdcached: Connection refused');

  it('sends updates and reads through rrdcached, and leaves other commands alone', async () => {
    const store = scripted([]);
    const via = new ViaRrdcached(store, 'unix:/run/rrdcached.sock', memoryLogger().logger, () => '/d/a.rrd');
    await send(via, '/d/a.rrd', 'update /d/a.rrd 1796650000.000000:1', 'update /d/a.rrd --skip-past-updates 1796650000.000000:1');
    await send(via, '/d/a.rrd', 'lastupdate /d/a.rrd');
    await send(via, '/d/a.rrd', 'create /d/a.rrd --no-overwrite DS:t:GAUGE:600:U:U');
    expect(store.sent).toEqual([
      'update --daemon unix:/run/rrdcached.sock /d/a.rrd 1796650000.000000:1',
      'lastupdate --daemon unix:/run/rrdcached.sock /d/a.rrd',
      'create /d/a.rrd --no-overwrite DS:t:GAUGE:600:U:U',
    ]);
    expect(via.directWrites).toBe(0);
  });

  /** A store that refuses while `gone`, and keeps what it was sent. */
  function daemonStore(): RrdLines & { sent: string[]; gone: boolean } {
    const store = {
      sent: [] as string[],
      gone: false,
      send(_path: string, line: string, _retry: string, done: RrdReply) {
        store.sent.push(line);
        const err = store.gone && line.includes('--daemon') ? refused() : undefined;
        setImmediate(() => done(err, err ? [] : ['OK']));
      },
    };
    return store;
  }

  it('keeps an update that finds rrdcached gone waiting, answered only once rrdcached takes it, and says so once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const logs = memoryLogger();
      const store = daemonStore();
      const via = new ViaRrdcached(store, 'unix:/s', logs.logger, () => '/d/a.rrd');
      store.gone = true;
      let answered = 0;
      via.send('/d/a.rrd', 'update /d/a.rrd 1:1 2:2', 'update /d/a.rrd 1:1 2:2', () => answered++);
      via.send('/d/a.rrd', 'update /d/a.rrd 3:3', 'update /d/a.rrd 3:3', () => answered++);
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((r) => setImmediate(r));
      expect(via.down).toBe(true);
      expect(via.held).toBe(2);
      expect(answered).toBe(0);
      expect(store.sent.filter((l) => !l.includes('--daemon'))).toEqual([]); // nothing direct
      expect(via.problem).toMatch(/2 update\(s\) wait/);
      store.gone = false;
      await vi.advanceTimersByTimeAsync(5_000);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(answered).toBe(2);
      expect(via.down).toBe(false);
      expect(store.sent.slice(-2)).toEqual(['update --daemon unix:/s /d/a.rrd 1:1 2:2', 'update --daemon unix:/s /d/a.rrd 3:3']);
      expect(logs.lines.filter((l) => l['code'] === 'E_RRDCACHED')).toHaveLength(1);
      expect(via.directWrites).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('when rrdcached is back, sends again one by one what it accepted just before it went (its journal may have lost them), before what waited', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const store = daemonStore();
      const via = new ViaRrdcached(store, 'unix:/s', memoryLogger().logger, () => '/d/a.rrd');
      await send(via, '/d/a.rrd', 'update /d/a.rrd 1:1'); // accepted long before: past the window
      await vi.advanceTimersByTimeAsync(REPLAY_WINDOW_MS + 1_000);
      await send(via, '/d/a.rrd', 'update /d/a.rrd 40:4 41:5'); // accepted just before the crash
      store.gone = true;
      const waited = send(via, '/d/a.rrd', 'update /d/a.rrd 42:6');
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((r) => setImmediate(r));
      store.gone = false;
      const before = store.sent.length;
      await vi.advanceTimersByTimeAsync(5_000);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await waited;
      expect(store.sent.slice(before + 1)).toEqual([
        'update --daemon unix:/s /d/a.rrd 40:4',
        'update --daemon unix:/s /d/a.rrd 41:5',
        'update --daemon unix:/s /d/a.rrd 42:6',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes to the files directly, what waited first, once rrdcached has stayed away for the hold time, and counts the values', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const logs = memoryLogger();
      const store = daemonStore();
      const via = new ViaRrdcached(store, 'unix:/s', logs.logger, () => '/d/a.rrd');
      store.gone = true;
      const waited = send(via, '/d/a.rrd', 'update /d/a.rrd 1:1 2:2');
      await vi.advanceTimersByTimeAsync(HOLD_MS);
      await waited;
      await send(via, '/d/a.rrd', 'update /d/a.rrd 3:3');
      expect(store.sent.filter((l) => !l.includes('--daemon') && l.startsWith('update'))).toEqual(['update /d/a.rrd 1:1 2:2', 'update /d/a.rrd 3:3']);
      expect(via.directWrites).toBe(3);
      expect(via.problem).toMatch(/directly/);
      expect(logs.lines.filter((l) => l['code'] === 'E_RRDCACHED')).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('goes back to rrdcached once a probe a few seconds later is answered', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const logs = memoryLogger('info');
      const store = daemonStore();
      const via = new ViaRrdcached(store, 'unix:/s', logs.logger, () => '/d/a.rrd');
      store.gone = true;
      const waited = send(via, '/d/a.rrd', 'update /d/a.rrd 1:1');
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((r) => setImmediate(r));
      store.gone = false;
      await vi.advanceTimersByTimeAsync(5_000);
      await new Promise((r) => setImmediate(r)); // the probe's answer
      await waited;
      expect(store.sent).toContain('flushcached --daemon unix:/s /d/a.rrd');
      expect(via.down).toBe(false);
      expect(logs.lines.some((l) => /rrdcached is back/.test(String(l['msg'])))).toBe(true);
      await send(via, '/d/a.rrd', 'update /d/a.rrd 2:2');
      expect(store.sent.at(-1)).toBe('update --daemon unix:/s /d/a.rrd 2:2');
    } finally {
      vi.useRealTimers();
    }
  });

  it('passes rrdtool\'s own refusals on: they are not rrdcached being away', async () => {
    const store = scripted([new RrdError('E_RRD_COMMAND', 'ERROR: rrdcached: illegal attempt to update using time 1 when last update time is 2 (minimum one second step)')]);
    const via = new ViaRrdcached(store, 'unix:/s', memoryLogger().logger, () => '/d/a.rrd');
    await expect(send(via, '/d/a.rrd', 'update /d/a.rrd 1.000000:1')).rejects.toThrow(/illegal attempt/);
    expect(via.down).toBe(false);
    expect(store.sent).toHaveLength(1);
  });

  it('counts every value of a direct update, whatever its time form, and not the file name', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const store = daemonStore();
      store.gone = true;
      const via = new ViaRrdcached(store, 'unix:/s', memoryLogger().logger, () => '/d/a.rrd');
      const waited = send(via, '/d/2024:a.rrd', "update '/d/2024:a.rrd' 1700000000:5 1700000001@6 N:7");
      await vi.advanceTimersByTimeAsync(HOLD_MS);
      await waited;
      expect(via.directWrites).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not ask a daemon it takes as gone to flush, and flushes nothing for no files', async () => {
    const store = scripted([refused()]);
    const via = new ViaRrdcached(store, 'unix:/s', memoryLogger().logger, () => '/d/a.rrd');
    await via.flush([]);
    expect(store.sent).toEqual([]);
    via.send('/d/a.rrd', 'update /d/a.rrd 1:1', 'update /d/a.rrd 1:1', () => undefined);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(via.down).toBe(true);
    await via.flush(['/d/a.rrd']);
    expect(store.sent.filter((l) => l.startsWith('flushcached'))).toEqual([]);
  });

  it('with no file to probe with, goes back to rrdcached at the next try', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const store = scripted([refused()]);
      const via = new ViaRrdcached(store, 'unix:/s', memoryLogger().logger, () => undefined);
      const waited = send(via, '/d/a.rrd', 'update /d/a.rrd 1:1');
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((r) => setImmediate(r));
      expect(via.down).toBe(true);
      await vi.advanceTimersByTimeAsync(5_000);
      await waited;
      expect(via.down).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
