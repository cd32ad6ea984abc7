import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { freePort, rrduinoProfile, stopProcess, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { DalmatinerReceiver } from '../helpers/receivers.ts';
import { REPO_ROOT, SERVER_JS } from '../helpers/repo.ts';
import { runGateway } from '../helpers/gateway-process.ts';
import { lastUpdateValues } from '../helpers/rrd-read.ts';
import { DEFAULT_PORT } from '../../src/transport/tcp-listener.ts';
import { DEFAULT_HTTP, parseHttpAddress } from '../../src/status/http-address.ts';

// The gateway as a service: its version, SIGHUP, its systemd unit, its log lines.

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('the gateway as a service', { timeout: 60_000 }, () => {
  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(process.execPath, [SERVER_JS, '--version'])).stdout.trim()).toBe(version);
  });

  it('reloads its destinations on SIGHUP without dropping the board, and does not die of it', async () => {
    const profiles = join(dir, 'profiles');
    await writeProfileFile(profiles, 'shed', rrduinoProfile('0123456789abcdef'));
    const port = await freePort();
    const config = join(dir, 'gateway.json');
    const base = { host: '127.0.0.1', port, profiles, data: join(dir, 'data'), http: false };
    await writeFile(config, JSON.stringify(base));
    const { child, output } = runGateway(['serve', '--config', config]);
    const rx = new DalmatinerReceiver(await freePort());
    await rx.start();
    const board = new SimulatedBoard({ clientId: 'shed', key: '0123456789abcdef', connect: tcpLink('127.0.0.1', port), intervalMs: 0 });
    let sessions = 0;
    board.on('ready', () => sessions++);
    try {
      await waitFor(() => output().includes('listening for boards'), 15_000, 'the gateway');
      board.start();
      await board.waitReady();
      board.send({ temperature: 1 });
      // Reload only once the first reading is through, so it cannot reach the destination added after it.
      await waitFor(async () => Number((await lastUpdateValues(join(dir, 'data', 'board.rrd')))?.values['temperature']) === 1, 10_000, 'the first reading in the rrd');
      await writeFile(config, JSON.stringify({ ...base, destinations: [{ type: 'dalmatinerdb', name: 'ddb', address: `127.0.0.1:${rx.port}`, bucket: 'b', maxDelay: 1 }] }));
      child.kill('SIGHUP');
      await waitFor(() => output().includes('reloaded: 1 profile(s)'), 10_000, 'the reload');
      board.send({ temperature: 2 });
      await waitFor(() => rx.stored().length > 0, 10_000, 'the point at the new destination');
      expect(rx.stored().map((p) => [p.metric, p.value])).toEqual([['shed.temperature', 200]]); // scaled by 100, the default
      expect(sessions).toBe(1);
      expect(child.exitCode).toBeNull();
    } finally {
      await board.stop();
      await stopProcess(child);
      await rx.stop();
    }
  });

  it('ships a systemd unit that systemd-analyze verify accepts', async () => {
    const unit = (await readFile(join(REPO_ROOT, 'scripts', 'systemd', 'rrduino-gateway.service'), 'utf8'))
      .replaceAll('/usr/bin/node', process.execPath)
      .replaceAll('/opt/rrduino-gateway', REPO_ROOT);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ExecStartPre=.* check --config /m);
    expect(unit).toMatch(/^User=rrduino$/m);
    const file = join(dir, 'rrduino-gateway.service');
    await writeFile(file, unit);
    const r = await run('systemd-analyze', ['verify', file]).catch((err: { stderr: string; code: number }) => ({ stderr: err.stderr, code: err.code }));
    expect('code' in r ? r.code : 0).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('rrduino-gateway.service'))).toEqual([]);
  });

  it('ships a sysctl file that reserves the default board and status page ports', async () => {
    const file = join(REPO_ROOT, 'scripts', 'systemd', '60-rrduino-gateway.conf');
    // Applied for real, inside a network namespace of its own so the machine's setting is untouched.
    const r = await run('unshare', ['--net', 'sh', '-c', `sysctl -q -p '${file}' && cat /proc/sys/net/ipv4/ip_local_reserved_ports`]).catch(() => undefined);
    const reserved = r?.stdout.trim() ?? /^net\.ipv4\.ip_local_reserved_ports\s*=\s*(\S+)$/m.exec(await readFile(file, 'utf8'))?.[1] ?? '';
    const ports = reserved.split(',').flatMap((range) => {
      const [lo = NaN, hi = lo] = range.split('-').map(Number);
      return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    });
    expect(ports).toContain(DEFAULT_PORT);
    expect(ports).toContain(parseHttpAddress(DEFAULT_HTTP).port);
  });

  it('logs JSON when piped, and one readable line with the local time when asked for pretty', async () => {
    const profiles = join(dir, 'profiles');
    await writeProfileFile(profiles, 'shed', rrduinoProfile('0123456789abcdef'));
    for (const [format, line] of [
      ['auto', /^\{"level":30,"time":\d+,.*"msg":"listening for boards over TCP"\}$/m],
      ['pretty', /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}\] INFO: listening for boards over TCP \{"host":"127\.0\.0\.1","port":\d+\}$/m],
    ] as const) {
      const { child, output } = runGateway(['serve', '--http', 'off', '--port', '0', '--host', '127.0.0.1', '--profiles', profiles, '--data', join(dir, `data-${format}`), '--log-format', format]);
      try {
        await waitFor(() => output().includes('listening for boards'), 15_000, 'the gateway');
        expect(output()).toMatch(line);
      } finally {
        await stopProcess(child);
      }
    }
  });
});

describe('installing and configuring', { timeout: 60_000 }, () => {
  it('installs as a command that runs from any directory', async () => {
    await run('npm', ['install', '-g', '--prefix', join(dir, 'prefix'), REPO_ROOT, '--no-audit', '--no-fund'], { cwd: dir });
    const { stdout } = await run(join(dir, 'prefix', 'bin', 'rrduino-gateway'), ['check', '--profiles', join(REPO_ROOT, 'profiles')], { cwd: dir });
    expect(stdout).toMatch(/ok\s+example/);
  });

  it('ships a sample config with every serve option that check --config accepts', async () => {
    const sample = await readFile(join(REPO_ROOT, 'docs', 'gateway.sample.jsonc'), 'utf8');
    const { PLAIN_CONFIG_OPTIONS } = await import('../../src/config/gateway-config.ts');
    for (const name of [...PLAIN_CONFIG_OPTIONS, 'serial', 'http', 'destinations']) expect(sample, name).toContain(`"${name}":`);
    const file = join(dir, 'gateway.jsonc');
    await writeFile(file, sample.replace('/etc/rrduino-gateway/profiles', join(REPO_ROOT, 'profiles')));
    const { stdout } = await run(process.execPath, [SERVER_JS, 'check', '--config', file]);
    expect(stdout).toMatch(/ok\s+example/);
  });
});
