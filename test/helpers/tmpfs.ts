import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A small tmpfs mounted at `dir`: a real disk that fills up (ENOSPC) and can be
 * remounted read-only (EROFS). Needs root, which the setup and CI have.
 */
export class Tmpfs {
  private constructor(readonly dir: string) {}

  static async mount(dir: string, sizeKiB: number): Promise<Tmpfs> {
    await mkdir(dir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
    return new Tmpfs(dir);
  }

  /**
   * Read-only from now on: a read-only bind mount over the directory (a plain remount is
   * refused while a file is open for writing). Files already open keep their old access,
   * as they would when a filesystem is remounted read-only under a running process.
   */
  async readOnly(ro = true): Promise<void> {
    if (ro) {
      await run('mount', ['--bind', this.dir, this.dir]);
      await run('mount', ['-o', 'remount,bind,ro', this.dir]);
    } else {
      await run('umount', [this.dir]);
    }
  }

  /** Fills it to the last byte with one file; removing that file frees the space again. */
  async fill(): Promise<string> {
    const file = `${this.dir}/filler`;
    await run('sh', ['-c', `dd if=/dev/zero of='${file}' bs=4k 2>/dev/null; true`]);
    return file;
  }

  async unmount(): Promise<void> {
    // The read-only bind (if any) and the tmpfs under it.
    for (let i = 0; i < 2; i++) await run('umount', ['-l', this.dir]).catch(() => undefined);
  }
}

export const canMount = process.getuid?.() === 0;
