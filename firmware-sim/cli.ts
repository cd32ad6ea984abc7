/**
 * Runs simulated rrduino boards from the command line:
 *   npm run sim -- --id example --key secret123 --port 60405 --interval 5000
 *   npm run sim -- --id example --key secret123 --serial /tmp/ttyBOARD
 */
import { Command, InvalidArgumentError } from 'commander';
import { SimulatedBoard, tcpLink } from './simulated-board.ts';
import { serialLink } from './serial-link.ts';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

const o = new Command()
  .name('firmware-sim')
  .description('a simulated rrduino board: thermistor readings, Arduino float printing, reconnect loop')
  .requiredOption('--id <client_id>', 'CLIENT_ID from config.h')
  .requiredOption('--key <key>', 'CLIENT_KEY from config.h')
  .option('--host <host>', 'gateway host', '127.0.0.1')
  .option('--port <port>', 'gateway port', int, 60405)
  .option('--serial <path>', 'write to this serial device instead of TCP')
  .option('--baud <rate>', 'serial baud rate', int, 9600)
  .option('--interval <ms>', 'ms between updates', int, 60_000)
  .option('--reconnect <ms>', 'ms to wait after a disconnect', int, 5_000)
  .option('--derive-delay <ms>', 'ms the key derivation takes after the hello (6000 is a real ATmega328P)', int, 0)
  .parse()
  .opts<{ id: string; key: string; host: string; port: number; serial?: string; baud: number; interval: number; reconnect: number; deriveDelay: number }>();

const board = new SimulatedBoard({
  clientId: o.id,
  key: o.key,
  connect: o.serial ? serialLink(o.serial, o.baud) : tcpLink(o.host, o.port),
  intervalMs: o.interval,
  reconnectDelayMs: o.reconnect,
  deriveDelayMs: o.deriveDelay,
});
board.on('ready', () => console.log(`${o.id}: session key derived`));
board.on('sent', (line: string) => console.log(`${o.id}: ${line.trimEnd().replace(/ [0-9a-f]{64}$/, ' <hmac>')}`));
board.on('disconnected', () => console.log(`${o.id}: disconnected; reconnecting in ${o.reconnect} ms`));
board.on('error', (err: Error) => console.error(`${o.id}: ${err.message}`));
board.start();
const stop = (): void => void board.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
