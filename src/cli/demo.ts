import { join } from 'node:path';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { errorMessage } from '../errors.ts';
import { startGateway, stopOnSignals, type ServeOptions } from './serve.ts';

/**
 * The README's first command ends here: the gateway with the bundled example profile
 * and one simulated board, printing where the RRD is and how to look at it.
 */
export async function runDemo(o: ServeOptions & { intervalMs: number; duration: number }): Promise<void> {
  const running = await startGateway({ ...o, host: '127.0.0.1' });
  const profile = await running.gateway.profiles.get('example');
  if (!profile) throw new Error(`no profiles/example.json in ${o.profiles}`);
  const port = o.port;
  const board = new SimulatedBoard({
    clientId: 'example',
    key: profile.key,
    connect: tcpLink('127.0.0.1', port),
    intervalMs: o.intervalMs,
  });
  board.on('error', (err) => console.error(`simulated board: ${errorMessage(err)}`));
  board.start();
  const rrdFile = join(o.data, 'example.rrd');
  console.error(
    [
      '',
      `rrduino-gateway demo: a simulated board 'example' sends a temperature every ${o.intervalMs / 1000} s`,
      `to the gateway on 127.0.0.1:${port}, which stores it in ${rrdFile}.`,
      ...(o.http === 'off' ? [] : [`See it in a browser: http://${o.http.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/board/example (graphs fill in as readings arrive)`]),
      'Or with rrdtool (in another terminal):',
      `  rrdtool lastupdate ${rrdFile}`,
      `  rrdtool fetch ${rrdFile} AVERAGE --start -10min`,
      `  rrdtool graph temperature.png --start -1h DEF:t=${rrdFile}:temperature:AVERAGE LINE2:t#c00000:temperature`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  const stop = async (): Promise<void> => {
    await board.stop();
    await running.close();
  };
  stopOnSignals(stop, running.logger);
  if (o.duration > 0) {
    setTimeout(() => {
      stop().then(async () => {
        const { listBoards } = await import('./list.ts');
        await listBoards(o.profiles, o.data, (l) => console.log(l));
        process.exit(0);
      }, () => process.exit(1));
    }, o.duration * 1000);
  }
}
