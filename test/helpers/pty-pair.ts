import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess, waitFor } from './fixtures.ts';
import { trackProcess } from './reaper.ts';

/**
 * A real pseudo-terminal pair from socat: the gateway opens `gatewayEnd`, the
 * simulated board `boardEnd`. Raw mode passes every byte (0x00, 0x0a, 0x0d, 0x11, 0x13, 0xff) unaltered.
 */
export class PtyPair {
  readonly gatewayEnd: string;
  readonly boardEnd: string;
  #socat: ChildProcess | undefined;

  constructor(dir: string, name = 'tty') {
    this.gatewayEnd = join(dir, `${name}-gateway`);
    this.boardEnd = join(dir, `${name}-board`);
  }

  async start(): Promise<void> {
    const socat = spawn('socat', [`pty,raw,echo=0,link=${this.gatewayEnd}`, `pty,raw,echo=0,link=${this.boardEnd}`], { stdio: 'ignore' });
    trackProcess(socat);
    this.#socat = socat;
    await waitFor(() => existsSync(this.gatewayEnd) && existsSync(this.boardEnd), 5000, 'socat pty links');
  }

  /** Kills socat, as unplugging the board would; waits until it is gone. */
  async stop(): Promise<void> {
    await stopProcess(this.#socat);
    this.#socat = undefined;
  }
}
