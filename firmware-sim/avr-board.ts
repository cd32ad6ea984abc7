import { spawn, type ChildProcess } from 'node:child_process';

/** What runs an AVR image: the simavr harness (firmware-build.ts `buildHarness`), the image, its port and its input. */
export interface AvrBoardOptions {
  readonly harness: string;
  readonly elf: string;
  /** A path the harness links to its pty: what `serve --serial` opens. */
  readonly ptyLink: string;
  /** The voltage on A0 (ADC0), millivolts of a 5 V reference. */
  readonly adcMillivolts: number;
}

/**
 * The real firmware on a simulated ATmega328P (simavr), its USART0 on a pty. The CPU waits
 * until {@link go}: a pty has no DTR, so the board is started once the gateway has opened
 * the port, as opening the port resets a real Uno.
 */
export class AvrBoard {
  readonly #proc: ChildProcess;
  #output = '';
  readonly #exited: Promise<void>;

  private constructor(proc: ChildProcess) {
    this.#proc = proc;
    proc.stdout?.on('data', (c: Buffer) => (this.#output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (this.#output += c.toString()));
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /** Starts the harness and resolves once its pty link exists. */
  static async start(o: AvrBoardOptions): Promise<AvrBoard> {
    const proc = spawn(o.harness, [o.elf, o.ptyLink, String(Math.round(o.adcMillivolts))], { stdio: ['pipe', 'pipe', 'pipe'] });
    const board = new AvrBoard(proc);
    const deadline = Date.now() + 10_000;
    while (!/^ready /m.test(board.#output)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`simavr harness did not start: ${board.#output}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return board;
  }

  /** Starts the CPU. */
  go(): void {
    this.#proc.stdin?.write('go\n');
  }

  /** What the harness printed (its start-up lines, and the simulated time at the end). */
  get output(): string {
    return this.#output;
  }

  /** Simulated seconds at which the firmware ended each line it sent on its serial port. */
  get lineTimes(): number[] {
    return [...this.#output.matchAll(/^tx-line ([\d.]+)$/gm)].map((m) => Number(m[1]));
  }

  /** Stops the simulation; resolves with the simulated seconds it ran. */
  async stop(): Promise<number> {
    if (this.#proc.exitCode === null) this.#proc.kill('SIGTERM');
    await this.#exited;
    return Number(/after ([\d.]+) s of simulated time/.exec(this.#output)?.[1] ?? NaN);
  }
}
