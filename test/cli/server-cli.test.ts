import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { freePort, stopProcess, tempDir, waitFor } from '../helpers/fixtures.ts';
import { runGateway, spawnGateway } from '../helpers/gateway-process.ts';
import { canMount, Tmpfs } from '../helpers/tmpfs.ts';
import { cli } from '../helpers/cli.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('server.ts', { timeout: 30_000 }, () => {
  it('create writes a 0600 profile and prints the config.h lines; check passes', async () => {
    const r = await cli(['create', 'shed', '--profiles', dir, '--source', 'temperature:GAUGE:-50:110', '--source', 'humidity:GAUGE:0:100']);
    expect(r.code).toBe(0);
    const profile = JSON.parse(await readFile(join(dir, 'shed.json'), 'utf8')) as { key: string };
    expect(r.stdout).toBe(`#define CLIENT_ID "shed"\n#define CLIENT_KEY "${profile.key}"\n`);
    expect((await stat(join(dir, 'shed.json'))).mode & 0o777).toBe(0o600);
    expect((await cli(['check', '--profiles', dir])).code).toBe(0);
  });

  it('exits 2 on usage errors: a bad value, an unknown option, a missing argument', async () => {
    for (const args of [['serve', '--http', '127.0.0.1:0', '--port', 'abc'], ['serve', '--http', '127.0.0.1:0', '--no-such-flag'], ['create'], ['dalmatiner', 'get', 'b', 'm', 'notatime', '60']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('dalmatiner checks its arguments before it connects, naming the bad one', async () => {
    for (const [args, words] of [
      [['get', 'sensors', 'x.y', 'notatime', '60'], "<from> 'notatime' must be a whole number"],
      [['get', 'sensors', 'x..y', '0', '60'], "<metric> 'x..y' must be dot-separated parts"],
      [['get', 'sensors', 'x.y', '0', '0'], "<count> '0' must be a whole number from 1"],
      [['metrics', ''], '<bucket> must be 1 to 255 bytes'],
    ] as const) {
      const r = await cli(['dalmatiner', '--address', '127.0.0.1:1', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(words);
      expect(r.stderr).not.toContain('ECONNREFUSED');
    }
  });

  it('exits 2 naming the file when a config names a CA file or handler module that is missing', async () => {
    const config = join(dir, 'gw.json');
    const gottwall = { type: 'gottwall', url: 'https://127.0.0.1:1', project: 'p', publicKey: 'a', privateKey: 'b', caFile: join(dir, 'missing-ca.pem') };
    await writeFile(config, JSON.stringify({ profiles: dir, data: join(dir, 'data'), port: 0, destinations: [gottwall] }));
    const r = await cli(['serve', '--http', '127.0.0.1:0', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing-ca.pem');
    const h = await cli(['serve', '--http', '127.0.0.1:0', '--profiles', dir, '--data', join(dir, 'data'), '--port', '0', '--handlers', join(dir, 'missing-handlers.js')]);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('missing-handlers.js');
  });

  it('create refuses to overwrite without --force, and a bad client id', async () => {
    expect((await cli(['create', 'shed', '--profiles', dir, '--key', 'given-key-123'])).code).toBe(0);
    const again = await cli(['create', 'shed', '--profiles', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await cli(['create', 'shed', '--profiles', dir, '--force'])).code).toBe(0);
    expect((await cli(['create', '../x', '--profiles', dir])).code).toBe(2);
  });

  it('create takes the original default key "secret" and an id like kitchen#1, warning about the short key; check warns too', async () => {
    const r = await cli(['create', 'kitchen#1', '--profiles', dir, '--key', 'secret']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('#define CLIENT_ID "kitchen#1"\n#define CLIENT_KEY "secret"\n');
    expect(r.stderr).toContain('W_SHORT_KEY');
    const profile = JSON.parse(await readFile(join(dir, 'kitchen#1.json'), 'utf8')) as { handler_options: { path: string } };
    expect(profile.handler_options.path).toBe('kitchen%231.rrd'); // '#' escaped: two ids never share a file
    const c = await cli(['check', '--profiles', dir]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/warning W_SHORT_KEY: .*kitchen#1\.json: key has 6 characters/);
    expect(c.stdout).not.toMatch(/"secret"|: secret\b/);
  });

  it('create writes config.h lines that stay C strings for an id with a quote and a key with a backslash', async () => {
    const r = await cli(['create', 'say"hi', '--profiles', dir, '--key', 'back\\slash-0123456789']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('#define CLIENT_ID "say\\"hi"\n#define CLIENT_KEY "back\\\\slash-0123456789"\n');
  });

  it('check exits 2 and names file and field for an invalid profile', async () => {
    await writeFile(join(dir, 'broken.json'), JSON.stringify({ handler_options: {} }));
    const r = await cli(['check', '--profiles', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('broken.json');
    expect(r.stdout).toContain('/key');
  });

  it('serve stores updates, list shows them, and SIGTERM stops it cleanly', async () => {
    await cli(['create', 'porch', '--profiles', dir, '--key', 'porch-key-1234', '--step', '1']);
    const data = join(dir, 'data');
    const port = await freePort();
    const { child, output } = runGateway(['serve', '--http', '127.0.0.1:0', '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', data, '--log-level', 'info']);
    await waitFor(() => output().includes('listening for boards'), 15_000, 'gateway start');
    const board = new SimulatedBoard({ clientId: 'porch', key: 'porch-key-1234', connect: tcpLink('127.0.0.1', port), intervalMs: 0 });
    board.start();
    await board.waitReady();
    board.send({ temperature: 12.25 });
    await new Promise((r) => setTimeout(r, 300));
    await board.stop();
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).toContain('gateway stopped');
    expect(output()).not.toContain('porch-key-1234');
    const list = await cli(['list', '--profiles', dir, '--data', data]);
    expect(list.stdout).toMatch(/porch\tRRDuinoHandler\t.*porch\.rrd\t\d{4}-\S+\t\d+ s ago\ttemperature=12.25/);
  });

  it('list shows a corrupt rrd as an error (exit 1), a missing one as not there yet, and --json', async () => {
    await cli(['create', 'porch', '--profiles', dir, '--key', 'porch-key-1234']);
    await cli(['create', 'shed', '--profiles', dir, '--key', 'shed-key-1234']);
    const data = join(dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'porch.rrd'), 'not an rrd file at all');
    const r = await cli(['list', '--profiles', dir, '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/porch\tRRDuinoHandler\t.*porch\.rrd\tERROR .*/);
    expect(r.stdout).toMatch(/shed\tRRDuinoHandler\t.*shed\.rrd\tno rrd yet\t-/);
    const j = JSON.parse((await cli(['list', '--profiles', dir, '--data', data, '--json'])).stdout) as { boards: Array<{ clientId: string; state: string; error?: string }> };
    expect(j.boards.map((b) => [b.clientId, b.state])).toEqual([['porch', 'error'], ['shed', 'never']]);
    expect(j.boards[0]?.error).toBeTruthy();
  });

  it('serve listens before it has read the profiles, then names each invalid one in the log', async () => {
    await cli(['create', 'porch', '--profiles', dir, '--key', 'porch-key-1234']);
    await writeFile(join(dir, 'broken.json'), '{ "key": "" }');
    const port = await freePort();
    const { child, output } = runGateway(['serve', '--http', 'off', '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', join(dir, 'data')]);
    try {
      await waitFor(() => output().includes('profile(s) loaded'), 15_000, 'the profile scan');
      const lines = output().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const at = (pred: (l: Record<string, unknown>) => boolean): number => lines.findIndex(pred);
      expect(at((l) => l['msg'] === 'listening for boards over TCP')).toBeLessThan(at((l) => l['code'] === 'E_PROFILE_INVALID'));
      expect(String(lines.find((l) => l['code'] === 'E_PROFILE_INVALID')?.['msg'])).toContain('broken.json');
      expect(lines.find((l) => l['msg'] === '1 profile(s) loaded')?.['boards']).toEqual(['porch']);
    } finally {
      await stopProcess(child);
    }
  });

  it('logs a board connecting and going away at the default log level', async () => {
    await cli(['create', 'porch', '--profiles', dir, '--key', 'porch-key-1234', '--step', '1']);
    const port = await freePort();
    const { child, output } = runGateway(['serve', '--http', '127.0.0.1:0', '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', join(dir, 'data')]);
    try {
      await waitFor(() => output().includes('listening for boards'), 15_000, 'gateway start');
      const board = new SimulatedBoard({ clientId: 'porch', key: 'porch-key-1234', connect: tcpLink('127.0.0.1', port), intervalMs: 0 });
      board.start();
      await board.waitReady();
      board.send({ temperature: 12.25 });
      await waitFor(() => output().includes('"msg":"board connected"'), 5000, 'the connect line');
      await board.stop();
      await waitFor(() => output().includes('"msg":"board disconnected"'), 5000, 'the disconnect line');
      const lines = output().split('\n').filter((l) => l.includes('"msg":"board ')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => [l['level'], l['clientId'], l['transport']])).toEqual([[30, 'porch', 'tcp'], [30, 'porch', 'tcp']]);
    } finally {
      await stopProcess(child);
    }
  });

  it('serves its status page once a port that was taken at start is freed, serving boards meanwhile', async () => {
    await cli(['create', 'porch', '--profiles', dir, '--key', 'porch-key-1234', '--step', '1']);
    const port = await freePort();
    const httpPort = await freePort();
    // Another program's socket on the page's port, as an outgoing connection given it from the ephemeral range would be.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(httpPort, '127.0.0.1', r));
    const { child, output } = runGateway(['serve', '--http', `127.0.0.1:${httpPort}`, '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', join(dir, 'data')]);
    try {
      await waitFor(() => output().includes('"code":"E_HTTP"'), 15_000, 'the E_HTTP line');
      const board = new SimulatedBoard({ clientId: 'porch', key: 'porch-key-1234', connect: tcpLink('127.0.0.1', port), intervalMs: 0 });
      board.start();
      await board.waitReady();
      await board.stop();
      await new Promise<void>((r) => blocker.close(() => r()));
      await waitFor(() => output().includes('status page, /metrics and /healthz'), 15_000, 'the page bound on a later try');
      const res = await fetch(`http://127.0.0.1:${httpPort}/status.json`);
      expect(res.status).toBe(200);
      expect(JSON.stringify(await res.json())).toContain('porch');
      const eHttp = output().split('\n').filter((l) => l.includes('"code":"E_HTTP"')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(eHttp[0]?.['level']).toBe(50);
      expect(eHttp[0]?.['msg']).toMatch(/EADDRINUSE.*tries again.*--http/);
    } finally {
      await stopProcess(child);
      blocker.close();
    }
  });

  it('refuses to start on a data dir it cannot write, saying what to do', async () => {
    if (!canMount) return;
    const fs = await Tmpfs.mount(join(dir, 'ro'), 256);
    try {
      await fs.readOnly();
      const r = await cli(['serve', '--http', 'off', '--port', '0', '--profiles', dir, '--data', fs.dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/data dir .*ro is not writable .*chown.*--data/);
    } finally {
      await fs.unmount();
    }
  });

  it('refuses to start a second gateway on the same data dir', async () => {
    const data = join(dir, 'data');
    const port = await freePort();
    const first = await spawnGateway(['serve', '--http', 'off', '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', data], port);
    try {
      const second = await cli(['serve', '--http', 'off', '--port', '0', '--profiles', dir, '--data', data]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`in use by another gateway (pid ${first.pid})`);
    } finally {
      await stopProcess(first);
    }
    // Stopped cleanly, it leaves the directory free.
    const again = await spawnGateway(['serve', '--http', 'off', '--host', '127.0.0.1', '--port', String(port), '--profiles', dir, '--data', data], port);
    await stopProcess(again);
  });
});
