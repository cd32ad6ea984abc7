import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { freePort, rrduinoProfile, stopProcess, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { runGateway } from '../helpers/gateway-process.ts';
import { readRrd } from '../helpers/rrd-read.ts';

// The gateway and the rrdtool it starts run under libfaketime (Debian `faketime`); the test and
// its board do not. Only the wall clock steps: Node's timers and the gateway's pace use the
// monotonic clock (FAKETIME_DONT_FAKE_MONOTONIC).
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const HOUR = 3_600;
const DAY = 86_400;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

interface Run {
  /** The offset of the gateway's wall clock from the real one, seconds; takes effect at once. */
  step: (offsetS: number) => Promise<void>;
  /** Waits until the board has sent `n` more readings. */
  sendMore: (n: number) => Promise<void>;
  /** Stops the board and the gateway; its counters from the stop line. */
  stop: () => Promise<Record<string, number>>;
  output: () => string;
}

/** The gateway under a faked clock `offsetS` off, with one board sending a reading every 200 ms, values 1, 2, 3… */
async function start(offsetS: number, firstValue: number): Promise<Run & { sent: () => number }> {
  const profile = rrduinoProfile() as { handler_options: { create: string[] } };
  // A second's step, a heartbeat longer than rrdtool's 10 s between a file's start and its first
  // update, and rows for more than the day the clock jumps.
  profile.handler_options.create = ['--step', '1', 'DS:temperature:GAUGE:20:U:U', `RRA:LAST:0.5:1:${DAY + 4 * HOUR}`];
  await writeProfileFile(join(dir, 'profiles'), 'example', profile);
  const offsetFile = join(dir, 'faketime');
  const step = (s: number): Promise<void> => writeFile(offsetFile, `${s >= 0 ? '+' : ''}${s}\n`);
  await step(offsetS);
  const port = await freePort();
  const gw = runGateway(['serve', '--host', '127.0.0.1', '--port', String(port), '--http', 'off', '--profiles', join(dir, 'profiles'), '--data', join(dir, 'data'), '--log-format', 'json'], {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  await waitFor(() => gw.output().includes('listening for boards'), 20_000, 'the gateway');
  let value = firstValue;
  let sent = 0;
  const board = new SimulatedBoard({ clientId: 'example', key: (rrduinoProfile() as { key: string }).key, connect: tcpLink('127.0.0.1', port), intervalMs: 200, readings: () => ({ temperature: (sent++, value++) }) });
  board.start();
  await board.waitReady();
  return {
    step,
    sent: () => sent,
    output: gw.output,
    sendMore: async (n) => {
      const target = sent + n;
      await waitFor(() => sent >= target, 30_000, `${n} more readings`);
    },
    stop: async () => {
      await board.stop();
      await stopProcess(gw.child);
      const stopped = gw.output().split('\n').find((l) => l.includes('"gateway stopped"'));
      return (JSON.parse(stopped ?? '{"stats":{}}') as { stats: Record<string, number> }).stats;
    },
  };
}

/** Every known value of the rrd over `[start, end]`, in time order, with its time. */
async function rrdValues(start: number, end: number): Promise<Array<[time: number, value: number]>> {
  const { stdout } = await readRrd(['fetch', join(dir, 'data', 'board.rrd'), 'LAST', '--start', String(start), '--end', String(end)]);
  return stdout
    .split('\n')
    .map((l) => /^(\d+): (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !Number.isNaN(Number(m[2])))
    .map((m) => [Number(m[1]), Number(m[2])]);
}

/** The readings the rrd holds: each value once (a value fills the seconds up to its update). */
const distinct = (values: Array<[number, number]>): number[] => [...new Set(values.map(([, v]) => v))];

describe.skipIf(!existsSync(LIBFAKETIME))('the clock steps (libfaketime, real rrdtool)', () => {
  it('stores every reading across a step back of an hour and a step forward of a day, in order, and says so', { timeout: 120_000 }, async () => {
    const now = Math.floor(Date.now() / 1000);
    const run = await start(0, 1);
    const startedMs = Date.now();
    await run.sendMore(10);
    await run.step(-HOUR);
    await run.sendMore(15);
    const beforeDayMs = Date.now();
    await run.step(DAY);
    await run.sendMore(10);
    const stats = await run.stop();
    // Before and after the step forward (a fetch of the whole day is 86,400 lines of nothing).
    const beforeDay = await rrdValues(now - 10, now + 600);
    const held = [...beforeDay, ...(await rrdValues(now + DAY - 600, now + DAY + 600))];
    const values = distinct(held);
    console.log(`clock −1 h then +1 day: ${stats['messages.verified']} verified, ${stats['updates.stored']} stored, ${stats['updates.coalesced'] ?? 0} coalesced (one value a second), ${values.length} values in the rrd (the first after the day's gap is unknown by rrdtool's heartbeat)`);
    // Never backwards: later readings at later seconds.
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // The reading after the day's gap closes an interval longer than the heartbeat: rrdtool makes it
    // unknown, as it does after any outage.
    expect(values.length).toBe((stats['updates.stored'] ?? 0) - 1);
    expect((stats['updates.stored'] ?? 0) + (stats['updates.coalesced'] ?? 0)).toBe(stats['messages.verified']);
    expect(stats['errors.E_RRD_COMMAND'] ?? 0).toBe(0);
    // Across the step back the stamps kept the readings' spacing: they span the time that passed.
    // (A value's update is the last second it fills: rrdtool fills back to the previous update.)
    const stamps = [...new Map(beforeDay.map(([t, v]) => [v, t])).values()];
    const span = (stamps.at(-1) ?? 0) - (stamps[0] ?? 0);
    const passed = (beforeDayMs - startedMs) / 1000;
    expect(span).toBeGreaterThanOrEqual(passed - 3);
    expect(span).toBeLessThanOrEqual(passed + 3);
    // The step forward left an honest gap: the last readings are a day on.
    expect(held.at(-1)?.[0]).toBeGreaterThan(now + DAY - 60);
    const behind = run.output().split('\n').filter((l) => l.includes('W_CLOCK_BEHIND'));
    expect(behind).toHaveLength(1);
    expect(Number(/"behindSeconds":(\d+)/.exec(behind[0] as string)?.[1])).toBeGreaterThan(HOUR - 60);
  });

  it('starts behind its files (a Pi after a power cut) and stores from where the last run left off', { timeout: 120_000 }, async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = await start(HOUR, 1);
    await first.sendMore(10);
    const before = await first.stop();
    const second = await start(0, 1_000); // an hour behind what the files hold
    await second.sendMore(10);
    const after = await second.stop();
    const values = distinct(await rrdValues(now + HOUR - 60, now + HOUR + 600));
    console.log(`start 1 h behind the files: first run ${before['updates.stored']} stored, second run ${after['messages.verified']} verified, ${after['updates.stored']} stored, ${after['errors.E_RRD_COMMAND'] ?? 0} refused; ${values.length} values in the rrd`);
    expect(values.filter((v) => v >= 1_000).length).toBe(after['updates.stored']);
    expect(after['updates.stored']).toBeGreaterThan(0);
    expect(after['errors.E_RRD_COMMAND'] ?? 0).toBe(0);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.filter((v) => v < 1_000).length).toBe(before['updates.stored']);
    expect(second.output()).toContain('W_CLOCK_BEHIND');
  });
});
