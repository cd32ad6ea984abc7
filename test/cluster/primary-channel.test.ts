import { describe, expect, it } from 'vitest';
import { OP, type WorkerMessage, type WorkerOp } from '../../src/cluster/cluster-messages.ts';
import { PrimaryChannel } from '../../src/cluster/primary-channel.ts';
import { RrdError } from '../../src/errors.ts';
import type { ActiveSession } from '../../src/backend/backend.ts';

function channel(): { ch: PrimaryChannel; sent: WorkerOp[][] } {
  const sent: WorkerOp[][] = [];
  const ch = new PrimaryChannel((m: WorkerMessage) => {
    if (m.kind === 'ops') sent.push(m.ops);
  });
  return { ch, sent };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PrimaryChannel (a session worker’s link to the primary)', () => {
  it('sends one batch per event-loop turn, in order, naming each path and client id once', async () => {
    const { ch, sent } = channel();
    void ch.rrd.ensure('/d/a.rrd', ['--step', '1']);
    void ch.rrd.update('/d/a.rrd', 'N:1', 1000);
    ch.record({ clientId: 'a', timeMs: 1000, values: new Map([['t', 1], ['h', null]]) });
    void ch.rrd.update('/d/a.rrd', 'N:2', 2000);
    expect(sent).toHaveLength(0);
    await turn();
    expect(sent).toEqual([[
      [OP.name, 1, '/d/a.rrd'],
      [OP.ensure, 1, 1, ['--step', '1']],
      [OP.update, 2, 1, 'N:1', 1000],
      [OP.name, 2, 'a'],
      [OP.publish, 2, 1000, 't', 1, 'h', null],
      [OP.update, 3, 1, 'N:2', 2000],
    ]]);
  });

  it('asks once per file whether it exists, and again after the primary could not create it', async () => {
    const { ch, sent } = channel();
    const first = ch.rrd.ensure('/d/a.rrd', ['x']);
    void ch.rrd.ensure('/d/a.rrd', ['x']);
    await turn();
    expect(sent.flat().filter((op) => op[0] === OP.ensure)).toHaveLength(1);
    ch.onReplies([], [[1, 'E_RRD_COMMAND', 'cannot create']]);
    await expect(first).rejects.toThrow('cannot create');
    void ch.rrd.ensure('/d/a.rrd', ['x']);
    await turn();
    expect(sent.flat().filter((op) => op[0] === OP.ensure)).toHaveLength(2);
  });

  it('sums plain counters per turn but sends a board’s errors one by one with the board', async () => {
    const { ch, sent } = channel();
    ch.count('messages.verified');
    ch.count('messages.verified');
    ch.count('errors.E_BAD_VALUE', 'a');
    ch.count('hellos');
    await turn();
    const ops = sent.flat();
    expect(ops).toContainEqual([OP.count, 'messages.verified', 2]);
    expect(ops).toContainEqual([OP.count, 'hellos', 1]);
    expect(ops).toContainEqual([OP.count, 'errors.E_BAD_VALUE', 1, 1]);
    expect(ops).toContainEqual([OP.name, 1, 'a']);
  });

  it('resolves what the primary answered and rejects what failed with the error’s own code', async () => {
    const { ch } = channel();
    const ok = ch.rrd.update('/d/a.rrd', 'N:1', 1);
    const bad = ch.rrd.update('/d/a.rrd', 'N:2', 2);
    ch.onReplies([1], [[2, 'E_RRD_COMMAND', 'illegal attempt to update']]);
    await expect(ok).resolves.toBeUndefined();
    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RrdError);
    expect((err as RrdError).code).toBe('E_RRD_COMMAND');
    expect(ch.waiting).toBe(0);
  });

  it('fails what waits, and what comes after, once the primary is gone', async () => {
    const { ch, sent } = channel();
    const waiting = ch.rrd.update('/d/a.rrd', 'N:1', 1);
    ch.fail('the primary process is gone');
    await expect(waiting).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    await expect(ch.rrd.update('/d/a.rrd', 'N:2', 2)).rejects.toMatchObject({ code: 'E_RRD_DIED' });
    await turn();
    expect(sent).toHaveLength(0);
  });

  it('claims and releases a session by number, and supersedes it when the primary says so', async () => {
    const { ch, sent } = channel();
    let superseded = 0;
    const session: ActiveSession = { link: { transport: 'tcp', remote: '192.0.2.1:5000' }, supersede: () => superseded++ };
    ch.claim('a', session);
    ch.supersede(1);
    expect(superseded).toBe(1);
    ch.release('a', session, 'superseded');
    ch.release('a', session, 'twice'); // only once
    ch.supersede(1); // gone: nothing happens
    await turn();
    expect(sent.flat()).toEqual([[OP.name, 1, 'a'], [OP.claim, 1, 1, 'tcp', '192.0.2.1:5000'], [OP.release, 1, 1, 'superseded']]);
    expect(superseded).toBe(1);
  });
});
