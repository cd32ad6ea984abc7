import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';

/** Opens a serial device as the board's link (a real port, or one end of a socat pty pair). */
export function serialLink(path: string, baudRate = 9600): () => Promise<Duplex> {
  return () =>
    new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate, autoOpen: false });
      port.open((err) => (err ? reject(err) : resolve(port)));
    });
}
