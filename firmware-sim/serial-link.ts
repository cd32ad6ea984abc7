import type { Duplex } from 'node:stream';
import { DEFAULT_BAUD, openSerialPort } from '../src/transport/serial-line.ts';

/** Opens a serial device as the board's link (a real port, or one end of a socat pty pair). */
export function serialLink(path: string, baudRate = DEFAULT_BAUD): () => Promise<Duplex> {
  return () => openSerialPort(path, baudRate);
}
