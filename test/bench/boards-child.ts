/**
 * Child process of the benchmark: N simulated boards over loopback. Commands come
 * over IPC so the gateway process measures only the gateway.
 */
import { connect, type Socket } from 'node:net';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { KEY_MATERIAL_BYTES } from '../../src/protocol/key-schedule.ts';
import { boardAddress } from '../helpers/fixtures.ts';

export type ChildCommand =
  /** Connects and derives every board's key, in waves of 200; `storm`: all at once, each sending one update as soon as it can, and trying again 1 s after a refused or reset connection, as a board does. */
  | { cmd: 'connect'; port: number; ids: string[]; keys: string[]; storm?: boolean; fixedMaterial?: number[] }
  | { cmd: 'send'; perBoard: number }
  /** Each board sends `perBoard` updates, one every `intervalMs`, starts spread over one interval. */
  | { cmd: 'pace'; perBoard: number; intervalMs: number }
  /** Signs `perBoard` updates per board now, so that `blast` and `paced` only write bytes. */
  | { cmd: 'prepare'; perBoard: number }
  | { cmd: 'blast' }
  /** Each board writes its prepared lines one every `intervalMs`, starts spread over one interval; answers each line's send time (ms since the epoch) per board. */
  | { cmd: 'paced'; intervalMs: number }
  /** Every board hangs up (as at a power cut); the process stays for the next `connect`. */
  | { cmd: 'drop' }
  | { cmd: 'close' };

interface Board {
  socket: Socket;
  protocol: BoardProtocol;
}

let boards: Board[] = [];
let prepared: Buffer[] = [];
/** The prepared lines of each board, one Buffer each (for `paced`). */
let preparedLines: Buffer[][] = [];

let retries = 0;

/** A board's connection and hello; with `retry`, tries again 1 s after a failure until it has its key. */
async function handshake(port: number, id: string, key: string, index: number, retry = false, fixed?: Buffer): Promise<Board> {
  for (;;) {
    try {
      return await handshakeOnce(port, id, key, index, fixed);
    } catch (err) {
      if (!retry) throw err;
      retries++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** With `fixed`, the key material is known beforehand and the derivation is left out. */
function handshakeOnce(port: number, id: string, key: string, index: number, fixed?: Buffer): Promise<Board> {
  return new Promise((resolve, reject) => {
    const protocol = new BoardProtocol(id, key);
    const socket = connect({ port, host: '127.0.0.1', localAddress: boardAddress(index), noDelay: true });
    let got = Buffer.alloc(0);
    socket.on('error', (err) => {
      socket.destroy();
      reject(err);
    });
    socket.on('close', () => reject(new Error('closed before the key material came')));
    socket.on('data', (c: Buffer) => {
      if (protocol.ready || got.length >= KEY_MATERIAL_BYTES) return;
      got = Buffer.concat([got, c]);
      if (got.length >= KEY_MATERIAL_BYTES) {
        if (!fixed) protocol.acceptKeyMaterial(got.subarray(0, KEY_MATERIAL_BYTES));
        resolve({ socket, protocol });
      }
    });
    socket.write(protocol.helloLine());
  });
}

async function sendAll(board: Board, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const line = board.protocol.updateLine({ temperature: 15 + (i % 1000) / 100 });
    if (!board.socket.write(line)) await new Promise((r) => board.socket.once('drain', r));
  }
}

process.on('message', (m: ChildCommand) => {
  void (async () => {
    if (m.cmd === 'connect' && m.storm) {
      // With the bench gateway's fixed key material, each board's first line is signed before the
      // clock starts, so only the gateway's work is timed (never so in `serve`).
      const fixed = m.fixedMaterial && Buffer.from(m.fixedMaterial);
      const firstLines = fixed && m.ids.map((id, i) => {
        const p = new BoardProtocol(id, m.keys[i] as string);
        p.acceptKeyMaterial(fixed);
        return p.updateLine({ temperature: 20 });
      });
      const start = performance.now();
      const startedAt = performance.timeOrigin + start;
      boards = await Promise.all(
        m.ids.map(async (id, i) => {
          const b = await handshake(m.port, id, m.keys[i] as string, i, true, fixed);
          b.socket.write(firstLines?.[i] ?? b.protocol.updateLine({ temperature: 20 }));
          return b;
        }),
      );
      process.send?.({ done: 'connect', ms: performance.now() - start, retries, startedAt });
    } else if (m.cmd === 'connect') {
      const start = performance.now();
      // Connect in waves of 200 so the listen backlog is not the thing measured.
      for (let i = 0; i < m.ids.length; i += 200) {
        const wave = m.ids.slice(i, i + 200).map((id, j) => handshake(m.port, id, m.keys[i + j] as string, i + j));
        boards.push(...(await Promise.all(wave)));
      }
      process.send?.({ done: 'connect', ms: performance.now() - start });
    } else if (m.cmd === 'send') {
      const start = performance.now();
      await Promise.all(boards.map((b) => sendAll(b, m.perBoard)));
      process.send?.({ done: 'send', ms: performance.now() - start });
    } else if (m.cmd === 'prepare') {
      preparedLines = boards.map((b) => Array.from({ length: m.perBoard }, (_, i) => Buffer.from(b.protocol.updateLine({ temperature: 15 + (i % 1000) / 100 }), 'latin1')));
      prepared = preparedLines.map((lines) => Buffer.concat(lines));
      process.send?.({ done: 'prepare', ms: 0 });
    } else if (m.cmd === 'blast') {
      const start = performance.now();
      await Promise.all(boards.map((b, i) => new Promise<void>((resolve) => (b.socket.write(prepared[i] as Buffer) ? resolve() : b.socket.once('drain', () => resolve())))));
      process.send?.({ done: 'blast', ms: performance.now() - start });
    } else if (m.cmd === 'paced') {
      const start = performance.now();
      const sentAt = await paceBoards(m.intervalMs, (i) => preparedLines[i]?.length ?? 0, (b, i, k) => preparedLines[i]?.[k] as Buffer);
      process.send?.({ done: 'paced', ms: performance.now() - start, sentAt });
    } else if (m.cmd === 'drop') {
      for (const b of boards) b.socket.destroy();
      boards = [];
      process.send?.({ done: 'drop', ms: 0 });
    } else if (m.cmd === 'pace') {
      const start = performance.now();
      await paceBoards(m.intervalMs, () => m.perBoard, (b, _i, k) => b.protocol.updateLine({ temperature: 20 + (k % 100) / 100 }));
      process.send?.({ done: 'pace', ms: performance.now() - start });
    } else {
      for (const b of boards) b.socket.destroy();
      boards = [];
      process.send?.({ done: 'close' });
      process.exit(0);
    }
  })();
});

/**
 * Every board writes `count(i)` lines, one every `intervalMs`, the boards' starts spread over one
 * interval; resolves with each line's send time (ms since the epoch), per board.
 */
function paceBoards(intervalMs: number, count: (i: number) => number, line: (b: Board, i: number, k: number) => string | Buffer): Promise<number[][]> {
  return Promise.all(
    boards.map(
      (b, i) =>
        new Promise<number[]>((resolve) => {
          const times: number[] = [];
          setTimeout(() => {
            const timer = setInterval(() => {
              times.push(performance.timeOrigin + performance.now());
              b.socket.write(line(b, i, times.length - 1));
              if (times.length >= count(i)) {
                clearInterval(timer);
                resolve(times);
              }
            }, intervalMs);
          }, (i * intervalMs) / boards.length);
        }),
    ),
  );
}
