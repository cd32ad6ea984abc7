import { mkdir, open, readFile, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, errorMessage } from './errors.ts';

const LOCK_FILE = '.rrduino-gateway.lock';
const PROBE_FILE = '.rrduino-gateway.write-test';

/**
 * Makes the data dir ready for one gateway: creates it, proves it writable (rrd files,
 * spools), and takes its lock so that a second gateway on the same dir refuses to start
 * (two would corrupt each other's spools and race on the rrd files). Returns the release.
 * Throws ConfigError E_DATA_DIR saying what to do.
 */
export async function claimDataDir(dir: string): Promise<() => Promise<void>> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, PROBE_FILE);
    await (await open(probe, 'w')).close();
    await unlink(probe);
  } catch (err) {
    throw new ConfigError(
      'E_DATA_DIR',
      `data dir ${dir} is not writable (${errorMessage(err)}): every reading would be lost. Give the gateway's user the directory (\`sudo chown -R <user> ${dir}\`), or choose another with --data`,
      { cause: err },
    );
  }
  const lock = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const owner = await readFile(lock, 'utf8').catch(() => '');
        if (owner.trim() === String(process.pid)) await unlink(lock).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError('E_DATA_DIR', `cannot lock data dir ${dir}: ${errorMessage(err)}`, { cause: err });
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ConfigError('E_DATA_DIR', `data dir ${dir} is in use by another gateway (pid ${pid}); stop it first, or give this one its own --data`);
      }
      await unlink(lock).catch(() => undefined); // left by a gateway that died: take it over
    }
  }
  throw new ConfigError('E_DATA_DIR', `cannot lock data dir ${dir}: another gateway keeps taking the lock`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Below this many free bytes a data disk counts as full: no rrd file can be made, a spool cannot grow. */
export const FULL_DISK_BYTES = 64 * 1024;

/** Bytes free for the gateway's user on the disk holding `dir`; undefined when that cannot be told. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
