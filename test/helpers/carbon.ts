import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopProcess, waitFor } from './fixtures.ts';
import { connect } from 'node:net';
import { trackProcess } from './reaper.ts';

const run = promisify(execFile);

/**
 * A real carbon-cache (Debian's graphite-carbon) in the foreground, on free loopback
 * ports, storing whisper files under `dir`. Every directory and port carbon.conf needs is set, and the per-minute create limit and tags are off (tags would call graphite-web on port 80).
 */
export class Carbon {
  readonly dir: string;
  linePort = 0;
  picklePort = 0;
  #proc: ChildProcess | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  async start(): Promise<void> {
    const d = this.dir;
    if (!this.linePort) {
      this.linePort = await freePort();
      this.picklePort = await freePort();
    }
    const queryPort = await freePort();
    for (const sub of ['conf', 'storage/whisper', 'storage/lists', 'log', 'run']) await mkdir(join(d, sub), { recursive: true });
    await writeFile(
      join(d, 'conf/carbon.conf'),
      [
        '[cache]',
        `STORAGE_DIR = ${d}/storage`,
        `LOCAL_DATA_DIR = ${d}/storage/whisper`,
        `WHITELISTS_DIR = ${d}/storage/lists`,
        `CONF_DIR = ${d}/conf`,
        `LOG_DIR = ${d}/log`,
        `PID_DIR = ${d}/run`,
        'USER =',
        'LINE_RECEIVER_INTERFACE = 127.0.0.1',
        `LINE_RECEIVER_PORT = ${this.linePort}`,
        'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
        `PICKLE_RECEIVER_PORT = ${this.picklePort}`,
        'CACHE_QUERY_INTERFACE = 127.0.0.1',
        `CACHE_QUERY_PORT = ${queryPort}`,
        'ENABLE_UDP_LISTENER = False',
        'MAX_CREATES_PER_MINUTE = inf',
        'MAX_UPDATES_PER_SECOND = inf',
        'MAX_CACHE_SIZE = inf',
        'CARBON_METRIC_INTERVAL = 0',
        'ENABLE_TAGS = False',
        '',
      ].join('\n'),
    );
    await writeFile(join(d, 'conf/storage-schemas.conf'), '[all]\npattern = .*\nretentions = 1s:1h,60s:1d\n');
    this.#proc = spawn('carbon-cache', [`--config=${d}/conf/carbon.conf`, '--debug', 'start'], { stdio: 'ignore' });
    trackProcess(this.#proc);
    await waitFor(() => this.#portOpen(this.picklePort) && this.#portOpen(this.linePort), 15_000, 'carbon-cache ports');
  }

  /** kill -9: carbon's cache of points not yet in whisper is lost. */
  async kill(): Promise<void> {
    await stopProcess(this.#proc, 'SIGKILL');
    this.#proc = undefined;
    await rm(join(this.dir, 'run'), { recursive: true, force: true }); // its stale pid file would stop the restart
    this.#openPorts.clear();
  }

  /** SIGTERM, and wait for the exit (≈ 2.5 s: carbon flushes its cache). */
  async stop(): Promise<void> {
    await stopProcess(this.#proc);
    this.#proc = undefined;
    this.#openPorts.clear();
  }

  whisperFile(metric: string): string {
    return join(this.dir, 'storage/whisper', `${metric.replaceAll('.', '/')}.wsp`);
  }

  /** Non-null points of a metric in the last hour: [timestamp, value]. */
  async fetch(metric: string): Promise<Array<[number, number]>> {
    const file = this.whisperFile(metric);
    if (!existsSync(file)) return [];
    const code = [
      'import json, sys, time, whisper',
      '(start, end, step), vals = whisper.fetch(sys.argv[1], int(time.time()) - 3600)',
      'print(json.dumps([[start + i * step, v] for i, v in enumerate(vals) if v is not None]))',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', code, file]);
    return JSON.parse(stdout) as Array<[number, number]>;
  }

  /** Waits until `metric` holds `count` points. */
  async waitForPoints(metric: string, count: number, timeoutMs = 15_000): Promise<Array<[number, number]>> {
    let last: Array<[number, number]> = [];
    await waitFor(async () => (last = await this.fetch(metric)).length >= count, timeoutMs, `${count} points of ${metric} in whisper`).catch(() => undefined);
    return last;
  }

  #openPorts = new Set<number>();
  #portOpen(port: number): boolean {
    if (this.#openPorts.has(port)) return true;
    const s = connect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      this.#openPorts.add(port);
      s.destroy();
    });
    s.on('error', () => s.destroy());
    return false;
  }
}
