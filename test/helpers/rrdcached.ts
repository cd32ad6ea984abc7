import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { stopProcess, waitFor } from './fixtures.ts';
import { trackProcess } from './reaper.ts';

/**
 * A real rrdcached (Debian's) in a test's directory: unix socket, journal, write-back for an
 * hour, so nothing reaches the files unless flushed. `kill()` is a kill -9; `start()` again
 * replays the journal. The journal is written in 4 KiB blocks and whenever it is rotated,
 * every `-f` seconds: 1 s here, so a second after an update it survives a kill -9.
 */
export class RrdCached {
  readonly socket: string;
  readonly #dir: string;
  #proc: ChildProcess | undefined;

  readonly #journalSeconds: number;

  /** @param journalSeconds rrdcached's -f: how often its journal is rotated (written). */
  constructor(dir: string, journalSeconds = 1) {
    this.#dir = dir;
    this.#journalSeconds = journalSeconds;
    this.socket = join(dir, 'rrdcached.sock');
  }

  get address(): string {
    return `unix:${this.socket}`;
  }

  async start(): Promise<void> {
    await mkdir(join(this.#dir, 'journal'), { recursive: true });
    await mkdir(join(this.#dir, 'base'), { recursive: true });
    // A kill -9 leaves both behind; the new daemon makes its own.
    await rm(this.socket, { force: true });
    await rm(join(this.#dir, 'rrdcached.pid'), { force: true });
    this.#proc = spawn('rrdcached', ['-g', '-l', this.address, '-p', join(this.#dir, 'rrdcached.pid'), '-j', join(this.#dir, 'journal'), '-F', '-w', '3600', '-f', String(this.#journalSeconds), '-b', join(this.#dir, 'base')], { stdio: 'ignore' });
    trackProcess(this.#proc);
    await waitFor(async () => stat(this.socket).then(() => true, () => false), 5000, 'rrdcached socket');
  }

  async stop(): Promise<void> {
    await stopProcess(this.#proc);
  }

  async kill(): Promise<void> {
    await stopProcess(this.#proc, 'SIGKILL');
  }
}
