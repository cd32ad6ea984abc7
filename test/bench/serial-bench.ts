import { join } from 'node:path';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { serialLink } from '../../firmware-sim/serial-link.ts';
import { localGateway } from '../helpers/gateway-harness.ts';
import { createLogger } from '../../src/logger.ts';
import { rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { PtyPair } from '../helpers/pty-pair.ts';

export interface SerialBenchResult {
  mode: string;
  seconds: number;
  sent: number;
  stored: number;
  lost: number;
  updatesPerSec: number;
}

/**
 * One board on one socat pty pair. `baud` paces the board's writes to what a UART at
 * that rate carries (10 bits a byte); ptys themselves ignore the baud rate, so
 * `baud: 0` measures what the gateway can take from one line.
 */
export async function benchSerial(baud: number, opts: { seconds?: number; lines?: number }): Promise<SerialBenchResult> {
  const { dir, cleanup } = await tempDir('rrduino-serial-bench-');
  const pty = new PtyPair(dir);
  await pty.start();
  await writeProfileFile(join(dir, 'profiles'), 'example', rrduinoProfile());
  const built = localGateway({ profilesDir: join(dir, 'profiles'), dataDir: join(dir, 'data'), logger: createLogger('warn') });
  const { gateway, backend } = built;
  const line = gateway.attachSerial({ path: pty.gatewayEnd, baudRate: baud || 115200, lookahead: 4 });
  await waitFor(() => line.isOpen, 5000, 'gateway opens pty');
  const port = await serialLink(pty.boardEnd, baud || 115200)();
  try {
    const board = new BoardProtocol('example', 'secret123');
    let material = Buffer.alloc(0);
    port.on('data', (c: Buffer) => (material = Buffer.concat([material, c])));
    port.write(board.helloLine());
    await waitFor(() => material.length >= 32, 5000, 'key material');
    board.acceptKeyMaterial(material.subarray(0, 32));
    // Taken by the rrd: stored, or coalesced with an earlier reading of the same second (docs/time.md).
    const stored = (): number => backend.stats.get('updates.stored') + backend.stats.get('updates.coalesced');
    const start = performance.now();
    let sent = 0;
    let bytes = 0;
    const bytesPerSec = baud / 10;
    const deadline = start + (opts.seconds ?? 10) * 1000;
    while (baud ? performance.now() < deadline : sent < (opts.lines ?? 20_000)) {
      const text = board.updateLine({ temperature: 20 + (sent % 500) / 100 }).replace(/\n$/, '\r\n');
      bytes += text.length;
      sent++;
      if (!port.write(text)) await new Promise((r) => port.once('drain', r));
      if (baud) {
        const due = start + (bytes / bytesPerSec) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
    }
    await waitFor(() => stored() >= sent, 30_000, 'all lines stored').catch(() => undefined);
    const seconds = (performance.now() - start) / 1000;
    return {
      mode: baud ? `${baud} baud (paced like a UART)` : 'unpaced (pty, gateway capacity)',
      seconds,
      sent,
      stored: stored(),
      lost: sent - stored(),
      updatesPerSec: stored() / seconds,
    };
  } finally {
    await new Promise<void>((r) => (port as unknown as { close: (cb: () => void) => void }).close(() => r()));
    await built.close();
    await pty.stop();
    await cleanup();
  }
}
