import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BoardProtocol } from '../firmware-sim/board-protocol.ts';
import { DEFAULT_LIMITS } from '../src/board-session.ts';
import { MemoryHub, SERIAL_POLICY, TCP_POLICY, storeGate, type MemoryLink } from './helpers/memory-session.ts';

// Sessions over in-memory links with fake timers: no sockets, no waiting.

let hub: MemoryHub;
beforeEach(() => {
  vi.useFakeTimers();
  hub = new MemoryHub();
  hub.addBoard('example', 'secret123');
});
afterEach(() => {
  storeGate.release();
  vi.useRealTimers();
});

/** Lets the hello's profile lookup (a promise) and the backlog run. */
const settle = async (): Promise<void> => void (await vi.advanceTimersByTimeAsync(0));
const codes = (): unknown[] => hub.logs.lines.map((l) => l['code']).filter(Boolean);

async function hello(link: MemoryLink, board = new BoardProtocol('example', 'secret123')): Promise<BoardProtocol> {
  const before = link.received.length;
  link.send(board.helloLine());
  await settle();
  board.acceptKeyMaterial(link.received.subarray(before, before + 32));
  return board;
}

describe('BoardSession logs', () => {
  it('name the link, and after the hello the client id, in the session\'s lines and its handler\'s', async () => {
    const { link } = hub.open(SERIAL_POLICY);
    link.send('x before any hello\n');
    await settle();
    const board = await hello(link);
    board.updateLine({ temperature: 1 }); // signed and lost on the way: the next one resynchronises
    link.send(board.updateLine({ temperature: 2 }));
    link.send('u temperature 3 0000000000000000000000000000000000000000000000000000000000000000\n');
    await settle();
    const line = (msg: RegExp): Record<string, unknown> | undefined => hub.logs.lines.find((l) => msg.test(String(l['msg'])));
    const fields = (l: Record<string, unknown> | undefined): unknown[] => [l?.['transport'], l?.['remote'], l?.['clientId']];
    expect(fields(line(/before hello/))).toEqual([link.transport, link.remote, undefined]);
    expect(fields(line(/resynchronised/))).toEqual([link.transport, link.remote, 'example']);
    expect(fields(line(/HMAC does not verify/))).toEqual([link.transport, link.remote, 'example']);
  });
});

describe('BoardSession hellos', () => {
  it('writes the 32 bytes at once, before the profile is read', () => {
    const { link } = hub.open();
    link.send('h example\n');
    expect(link.received).toHaveLength(32); // synchronously: no lookup or key derivation came first
  });

  it('answers an unknown id with 32 bytes too, and rejects what follows (TCP: hangs up)', async () => {
    const { link } = hub.open();
    const board = await hello(link, new BoardProtocol('nobody', 'whatever'));
    expect(link.received).toHaveLength(32);
    link.send(board.updateLine({ temperature: 1 }));
    expect(link.hungUp).toBe(true);
    expect(codes()).toContain('E_UNKNOWN_CLIENT');
  });

  it('hangs up a TCP link that says no hello within the hello timeout', async () => {
    const { link } = hub.open({ ...TCP_POLICY, helloTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(link.hungUp).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.hungUp).toBe(true);
    expect(codes()).toContain('E_HANDSHAKE_TIMEOUT');
  });

  it('does not let repeated hellos keep an unverified TCP connection open past the handshake limit', async () => {
    const { link } = hub.open(TCP_POLICY, { ...DEFAULT_LIMITS, handshakeTimeoutMs: 15_000 });
    for (let t = 0; t < 14; t++) {
      link.send(`h zz${t}\n`);
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(link.hungUp).toBe(false);
    link.send('h zz-last\n');
    await vi.advanceTimersByTimeAsync(1000); // 15 s after the first hello
    expect(link.hungUp).toBe(true);
    expect(link.received).toHaveLength(15 * 32); // every hello was answered meanwhile
  });

  it('on serial, where nothing hangs up, each hello starts its own handshake', async () => {
    const { link } = hub.open(SERIAL_POLICY, { ...DEFAULT_LIMITS, handshakeTimeoutMs: 15_000 });
    const board = await hello(link);
    await vi.advanceTimersByTimeAsync(10_000);
    await hello(link, board); // the board reset and said hello again
    await vi.advanceTimersByTimeAsync(10_000); // 20 s after the first, 10 after the second
    link.send(board.updateLine({ temperature: 1 }));
    await settle();
    expect(hub.readings).toHaveLength(1);
    expect(codes()).not.toContain('E_HANDSHAKE_TIMEOUT');
  });
});

describe('BoardSession, a hello on serial while a session is verified', () => {
  const values = (): unknown[] => hub.readings.map((r) => r.values.get('temperature'));

  it.each([
    ['an unknown id', 'h x7\n'],
    ['the board’s own id', 'h example\n'],
    ['an id no profile can have', 'h \x01\x02\n'],
  ])('keeps the verified session when noise parses as a hello with %s, and its next line verifies', async (_what, noise) => {
    const { link } = hub.open(SERIAL_POLICY);
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    link.send(noise);
    await settle();
    link.send(board.updateLine({ temperature: 2 }) + board.updateLine({ temperature: 3 }));
    await settle();
    expect(values()).toEqual([1, 2, 3]);
    expect(hub.stats.get('hellos.noise')).toBe(1);
    expect(hub.released).toEqual([]);
  });

  it('gives a board that really reset its new session once a line of the new session verifies', async () => {
    const { link } = hub.open(SERIAL_POLICY);
    const old = await hello(link);
    link.send(old.updateLine({ temperature: 1 }));
    await settle();
    const renewed = await hello(link); // the board reset: a new hello, a new key
    link.send(renewed.updateLine({ temperature: 2 }));
    await settle();
    expect(values()).toEqual([1, 2]);
    expect(hub.released).toEqual([['example', 'new hello']]);
    link.send(old.updateLine({ temperature: 9 })); // the old session is over
    await settle();
    expect(values()).toEqual([1, 2]);
  });

  it('goes back to the verified session when the new one does not verify within the handshake limit', async () => {
    const { link } = hub.open(SERIAL_POLICY, { ...DEFAULT_LIMITS, handshakeTimeoutMs: 15_000 });
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    link.send('h example\n');
    await settle();
    await vi.advanceTimersByTimeAsync(16_000);
    link.send(board.updateLine({ temperature: 2 }));
    await settle();
    expect(values()).toEqual([1, 2]);
    expect(codes()).not.toContain('E_HANDSHAKE_TIMEOUT');
    expect(hub.released).toEqual([]);
  });

  it('on TCP a hello still ends the session at once (the board can be told to reconnect)', async () => {
    const { link } = hub.open(TCP_POLICY);
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    await settle();
    await hello(link, new BoardProtocol('example', 'secret123'));
    expect(hub.released).toEqual([['example', 'new hello']]);
  });
});

describe('BoardSession updates', () => {
  it('yields the same readings whether the input comes whole, split at every offset, or byte by byte', async () => {
    const board = new BoardProtocol('example', 'secret123');
    const { link: first } = hub.open();
    await hello(first, board);
    const lines = [board.updateLine({ temperature: 21.5 }), board.updateLine({ temperature: -3.25, humidity: 40 })].join('');
    // Replay the same key material on fresh links: the hub's random source restarts per test hub.
    const feeds: Array<(l: MemoryLink) => void> = [
      (l) => l.send(lines),
      ...[1, 7, 40, lines.length - 1].map((cut) => (l: MemoryLink) => (l.send(lines.slice(0, cut)), l.send(lines.slice(cut)))),
      (l) => {
        for (const ch of lines) l.send(ch);
      },
    ];
    const results: string[] = [];
    for (const feed of feeds) {
      hub = new MemoryHub();
      hub.addBoard('example', 'secret123');
      const { link } = hub.open();
      const b = await hello(link);
      expect(b.updateLine({ temperature: 21.5 })).toBe(lines.split('\n')[0] + '\n'); // same key material, same lines
      feed(link);
      await settle();
      results.push(JSON.stringify(hub.readings.map((r) => [...r.values])));
    }
    expect(new Set(results).size).toBe(1);
    expect(JSON.parse(results[0] as string)).toEqual([[['temperature', 21.5]], [['temperature', -3.25], ['humidity', 40]]]);
  });

  it('skips empty lines before the hello, between messages and after them, on TCP and serial, whole, split or byte by byte', async () => {
    for (const policy of [TCP_POLICY, SERIAL_POLICY]) {
      for (const split of [0, 1, 3]) {
        hub = new MemoryHub();
        hub.addBoard('example', 'secret123');
        const { link } = hub.open(policy);
        const feed = (text: string): void => {
          if (split === 0) link.send(text);
          else for (let i = 0; i < text.length; i += split) link.send(text.slice(i, i + split));
        };
        feed('\n\r\n  \t\r\n'); // as our SerialThermistor writes before its hello, and a bridge's CRs
        const board = new BoardProtocol('example', 'secret123');
        const before = link.received.length;
        feed(board.helloLine());
        await settle();
        board.acceptKeyMaterial(link.received.subarray(before, before + 32));
        feed(`\n${board.updateLine({ temperature: 1 })}\r\n\n${board.updateLine({ temperature: 2 })}\n`);
        await settle();
        expect(link.hungUp, `${policy === TCP_POLICY ? "tcp" : "serial"}, split ${split}`).toBe(false);
        expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2]);
        expect(hub.stats.get('lines.empty')).toBe(7);
        expect(codes()).toEqual([]);
      }
    }
  });

  it('tells the link once, at the first verified message', async () => {
    const { link } = hub.open();
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }) + board.updateLine({ temperature: 2 }));
    await settle();
    expect(link.verifiedCalls).toBe(1);
    expect(hub.claimed).toEqual(['example']);
  });

  it('hangs up a TCP link after a line whose HMAC does not verify', async () => {
    const { link } = hub.open();
    await hello(link);
    link.send(`u temperature 1 ${'0'.repeat(64)}\n`);
    expect(link.hungUp).toBe(true);
    expect(codes()).toContain('E_BAD_HMAC');
  });

  it('on serial, skips a line that did not verify as noise and keeps the session', async () => {
    const { link } = hub.open(SERIAL_POLICY);
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    link.send(`u temperature 99 ${'0'.repeat(64)}\r\n`);
    link.send('\x00\xff garbage\r\n');
    link.send(board.updateLine({ temperature: 2 }));
    await settle();
    expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2]);
    expect(hub.stats.get('lines.noise')).toBe(2);
    expect(link.hungUp).toBe(false);
  });

  for (const [name, policy] of [['serial', SERIAL_POLICY], ['TCP', TCP_POLICY]] as const) {
    it(`on ${name}, a verified message its handler throws at does not end the session`, async () => {
      const { link } = hub.open(policy);
      const board = await hello(link);
      link.send(board.signedLine('boom 1'));
      link.send(board.updateLine({ temperature: 2 }));
      await settle();
      expect(codes()).toContain('E_INTERNAL');
      expect(link.hungUp).toBe(false);
      expect(hub.stats.get('lines.noise')).toBe(0);
      expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([2]);
    });
  }

  it('keeps a silent TCP board its session for two hours by default (boards that report every 15 or 60 minutes)', async () => {
    expect(DEFAULT_LIMITS.idleTimeoutMs).toBeGreaterThanOrEqual(2 * 3600_000);
    const { link } = hub.open(TCP_POLICY);
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    await settle();
    await vi.advanceTimersByTimeAsync(61 * 60_000);
    link.send(board.updateLine({ temperature: 2 }));
    await settle();
    expect(link.hungUp).toBe(false);
    expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2]);
  });

  it('restarts the idle limit at every verified message, and hangs up a full limit after the last', async () => {
    const { link } = hub.open(TCP_POLICY, { ...DEFAULT_LIMITS, idleTimeoutMs: 60_000 });
    const board = await hello(link);
    for (let t = 1; t <= 3; t++) {
      link.send(board.updateLine({ temperature: t }));
      await settle();
      await vi.advanceTimersByTimeAsync(50_000);
    }
    expect(link.hungUp).toBe(false); // 150 s after the first message, 50 s after the last
    await vi.advanceTimersByTimeAsync(10_000);
    expect(link.hungUp).toBe(true);
    expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2, 3]);
  });

  it('hangs up a TCP link that stays silent for the idle limit after verifying', async () => {
    const { link } = hub.open(TCP_POLICY, { ...DEFAULT_LIMITS, idleTimeoutMs: 60_000 });
    const board = await hello(link);
    link.send(board.updateLine({ temperature: 1 }));
    await settle();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(link.hungUp).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.hungUp).toBe(true);
    expect(codes()).toContain('E_IDLE_TIMEOUT');
  });
});

describe('BoardSession flow control', () => {
  const limits = { ...DEFAULT_LIMITS, maxInFlight: 4 };
  const ten = (board: BoardProtocol): Buffer => Buffer.from(Array.from({ length: 10 }, (_, i) => board.updateLine({ temperature: i })).join(''), 'latin1');
  const feeds: Array<[string, (b: Buffer) => Buffer[]]> = [
    ['whole', (b) => [b]],
    ['split in two', (b) => [b.subarray(0, 131), b.subarray(131)]],
    ['byte by byte', (b) => [...b].map((x) => Buffer.from([x]))],
  ];

  for (const [how, chunks] of feeds) {
    it(`takes no more than maxInFlight updates at a time from one read (${how}), pauses the link, and takes the rest in order as they finish`, async () => {
      const { link } = hub.open(TCP_POLICY, limits);
      const board = await hello(link);
      storeGate.held = true;
      for (const c of chunks(ten(board))) link.send(c);
      await settle();
      expect(hub.readings).toHaveLength(4);
      expect(link.paused).toBe(true);
      for (let round = 0; round < 3; round++) {
        storeGate.release();
        storeGate.held = true;
        await settle();
      }
      storeGate.release();
      await settle();
      expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(link.paused).toBe(false);
      expect(link.hungUp).toBe(false);
    });
  }

  it('at a stop reads nothing more from the link, and still takes every update it had read', async () => {
    const { link, session } = hub.open(TCP_POLICY, limits);
    const board = await hello(link);
    storeGate.held = true;
    link.send(ten(board));
    await settle();
    session.stopReading();
    expect(link.paused).toBe(true);
    storeGate.held = false;
    storeGate.release();
    await session.drain();
    await settle();
    expect(hub.readings).toHaveLength(10); // what one read brought
    expect(link.paused).toBe(true); // and it stays paused with nothing in flight
  });

  it('still takes the updates it held when the link closes behind them', async () => {
    const { link, session } = hub.open(TCP_POLICY, limits);
    const board = await hello(link);
    storeGate.held = true;
    link.send(ten(board));
    await settle();
    const closed = session.onLinkClosed();
    storeGate.held = false;
    storeGate.release();
    await closed;
    expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
