import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, rrduinoProfile, stopProcess, tempDir, writeProfileFile } from './fixtures.ts';
import { spawnGateway } from './gateway-process.ts';

/** A real gateway process with one profile (`example`), as a board or an attacker meets it. */
export async function startGatewayProcess(): Promise<{ port: number; child: ChildProcess; stop: () => Promise<void> }> {
  const t = await tempDir('rrduino-timing-');
  await writeProfileFile(join(t.dir, 'profiles'), 'example', rrduinoProfile());
  const port = await freePort();
  const args = ['serve', '--http', '127.0.0.1:0', '--host', '127.0.0.1', '--port', String(port), '--profiles', join(t.dir, 'profiles'), '--data', join(t.dir, 'data'), '--log-level', 'error'];
  const child = await spawnGateway(args, port);
  return {
    port,
    child,
    stop: async () => {
      await stopProcess(child);
      await t.cleanup();
    },
  };
}

/** Microseconds from writing `h <id>` on an open connection to holding all 32 bytes. */
export function timeHello(port: number, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      let got = 0;
      const t0 = process.hrtime.bigint();
      s.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= 32) {
          resolve(Number(process.hrtime.bigint() - t0) / 1000);
          s.destroy();
        }
      });
      s.write(`h ${id}\n`);
    });
    s.on('error', reject);
  });
}

/** Microseconds from writing a bogus signed first line after the hello's 32 bytes to the gateway's close. */
export function timeFirstLine(port: number, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      let got = 0;
      let t0 = 0n;
      s.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= 32 && t0 === 0n) {
          t0 = process.hrtime.bigint();
          s.write(`u temperature 21.5 ${'0'.repeat(64)}\n`);
        }
      });
      s.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1000));
      s.write(`h ${id}\n`);
    });
    s.on('error', reject);
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/**
 * Median answer time for a known id (`example`) and an unknown one, `tries` each,
 * alternating, with a pause after each so the known id's key derivation (which runs
 * after its answer) is over before the next try starts.
 */
export async function helloMedians(port: number, tries: number, time = timeHello): Promise<{ knownUs: number; unknownUs: number }> {
  for (let i = 0; i < 20; i++) await time(port, i % 2 ? 'example' : 'nobody'); // warm-up
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 2 * tries; i++) {
    if (i % 2 === 0) known.push(await time(port, 'example'));
    else unknown.push(await time(port, 'nobody'));
    await new Promise((r) => setTimeout(r, 3));
  }
  return { knownUs: median(known), unknownUs: median(unknown) };
}

/**
 * How often a known id's answer came first, over `pairs` back-to-back pairs (which goes first
 * alternates): about half when timing cannot tell the two apart, near 0 or 1 when it can (the
 * old oracle, 706 against 323 µs, gave 1). Paired, so a busy machine slows both of a pair alike;
 * medians of separate samples drifted 17 % apart beside a CPU burner with no difference in work.
 */
export async function knownFirstShare(port: number, pairs: number, time = timeHello): Promise<{ share: number; knownUs: number; unknownUs: number }> {
  for (let i = 0; i < 20; i++) await time(port, i % 2 ? 'example' : 'nobody'); // warm-up
  let knownFirst = 0;
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let k: number;
    let u: number;
    if (i % 2 === 0) {
      k = await time(port, 'example');
      u = await time(port, 'nobody');
    } else {
      u = await time(port, 'nobody');
      k = await time(port, 'example');
    }
    known.push(k);
    unknown.push(u);
    if (k < u) knownFirst++;
    await new Promise((r) => setTimeout(r, 3));
  }
  return { share: knownFirst / pairs, knownUs: median(known), unknownUs: median(unknown) };
}

