/**
 * `npm run bench`: measures the gateway on this machine and prints a Markdown table
 * for BENCHMARKS.md. Never part of `npm test`.
 */
import { createHash, createHmac } from 'node:crypto';
import { benchFirmware } from './firmware-bench.ts';
import { benchRrdcached } from './rrdcached-bench.ts';
import { benchRss } from './rss-bench.ts';
import { benchSerial } from './serial-bench.ts';
import { benchSegments, benchSqlite } from './spool-bench.ts';
import { helloMedians, startGatewayProcess } from '../helpers/hello-timing.ts';
import { benchTcp, type TcpBenchResult } from './tcp-bench.ts';
import { benchGatewayForward, benchRelayForward, type ForwardResult } from './forward-bench.ts';
import { Carbon } from '../helpers/carbon.ts';
import { freePort, tempDir } from '../helpers/fixtures.ts';
import { DalmatinerReceiver, GottwallReceiver } from '../helpers/receivers.ts';

const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : '-');

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log(`# rrduino-gateway benchmark — ${new Date().toISOString()}, node ${process.version} ${process.execArgv.join(' ')}, ${(await import('node:os')).cpus().length} cores\n`);
  if (!only || only === 'ingest') await benchIngest();
  if (only === 'throughput') await benchIngest(false);
  if (only === 'rrdcached') {
    console.log('## Disk writes with and without rrdcached (10 boards, a reading a second each for 60 s, rrd files on the disk, kernel writeback)\n');
    console.log('| mode | readings | KiB written per 1,000 readings | KiB more per 1,000 at rrdcached\'s flush | updates/s (burst of 10 × 1,000) |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const r of await benchRrdcached()) console.log(`| ${r.mode} | ${fmt(r.readings)} | ${fmt(r.kibPer1000)} | ${fmt(r.kibAtFlushPer1000)} | ${fmt(r.updatesPerSec)} |`);
    console.log('\n/proc/diskstats counts the whole machine, file system journal included. rrdcached: -w 3600 -f 60 (each file written once an hour, its journal once a minute); its flush is forced here.');
    return;
  }
  if (only === 'firmware') {
    const r = await benchFirmware();
    console.log('## Board firmware (avr-gcc 5.4 -Os -flto, Arduino AVR core 1.8.7, atmega328p)\n');
    console.log('| image | flash bytes (of 32,256) | static RAM bytes (of 2,048) |');
    console.log('| --- | ---: | ---: |');
    for (const { name, image } of r.images) console.log(`| ${name} | ${fmt(image.flashBytes)} | ${fmt(image.ramBytes)} |`);
    console.log(`\nSerialThermistor under simavr against \`serve --serial\`: hello → first update sent ${fmt(r.helloToFirstUpdateSimS, 2)} s simulated (the 128-round key derivation); the simulation ran at ${fmt(r.speed, 2)}× real time.`);
    return;
  }
  if (!only || only === 'tcp') {
    console.log('## Boards over TCP → verified → rrdtool (2 pipe-mode processes)\n');
    console.log('| boards | updates | handshakes/s | verified updates/s into rrd | p50 latency ms | p99 latency ms | rrd errors |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [n, per] of [[1, 20_000], [100, 500], [1000, 60]] as const) {
      const r = await benchTcp(n, per);
      console.log(`| ${fmt(r.boards)} | ${fmt(r.updates)} | ${fmt(r.handshakesPerSec)} | ${fmt(r.updatesPerSec)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.rrdErrors} |`);
    }
    console.log('\nEvery board sends as fast as it can, so these latencies are mostly queueing.');
    console.log('\n### Paced: 1,000 boards, each one update every 200 ms (5,000 updates/s offered), 10 s\n');
    const p = await benchTcp(1000, 50, { paceIntervalMs: 200 });
    console.log('| boards | updates | verified updates/s into rrd | p50 latency ms | p99 latency ms | rrd errors |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(`| ${fmt(p.boards)} | ${fmt(p.updates)} | ${fmt(p.updatesPerSec)} | ${fmt(p.p50Ms, 2)} | ${fmt(p.p99Ms, 2)} | ${p.rrdErrors} |`);
    console.log('\nLatency: from the line being verified to rrdtool answering OK for it.');
  }
  if (!only || only === 'graphite') {
    console.log('\n## Re-emission to a real carbon-cache (boards → verify → rrd → carbon), 100 boards × 300 updates\n');
    console.log('| protocol | verified updates/s into rrd | points/s forwarded to carbon (until the queue was empty) | boards whose metric carbon wrote |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const protocol of ['pickle', 'plaintext'] as const) {
      const { dir, cleanup } = await tempDir('rrduino-bench-carbon-');
      const carbon = new Carbon(dir);
      await carbon.start();
      try {
        const r = await benchTcp(100, 300, { destinations: [{ type: 'graphite', address: `127.0.0.1:${protocol === 'pickle' ? carbon.picklePort : carbon.linePort}`, protocol, prefix: 'bench' }] });
        // Whisper keeps one point per second per metric, so count the metrics that arrived.
        let landed = 0;
        for (let i = 0; i < 100; i++) if ((await carbon.waitForPoints(`bench.bench-${i}.temperature`, 1, 5000)).length > 0) landed++;
        console.log(`| ${protocol} | ${fmt(r.updatesPerSec)} | ${fmt(r.forwardedPerSec ?? NaN)} | ${landed} of 100 |`);
      } finally {
        await carbon.stop();
        await cleanup();
      }
    }
  }
  if (!only || only === 'dalmatiner' || only === 'gottwall') {
    console.log('\n## Re-emission to DalmatinerDB and GottWall stand-ins (test receivers on loopback that decode what arrives)\n');
    console.log('| destination | boards × updates | verified updates/s into rrd | forwarded/s (until the queue was empty) | received by the stand-in |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    if (!only || only === 'dalmatiner') {
      const rx = new DalmatinerReceiver(await freePort());
      await rx.start();
      const r = await benchTcp(100, 300, { destinations: [{ type: 'dalmatinerdb', address: `127.0.0.1:${rx.port}`, bucket: 'bench' }] });
      console.log(`| DalmatinerDB stream mode (points/s) | 100 × 300 | ${fmt(r.updatesPerSec)} | ${fmt(r.forwardedPerSec ?? NaN)} | ${fmt(rx.received.length)} points |`);
      await rx.stop();
    }
    if (!only || only === 'gottwall') {
      const rx = new GottwallReceiver(await freePort(), 'pub', 'priv');
      await rx.start();
      const r = await benchTcp(100, 50, { destinations: [{ type: 'gottwall', url: `http://127.0.0.1:${rx.port}`, project: 'bench', publicKey: 'pub', privateKey: 'priv' }] });
      console.log(`| GottWall HTTP, S1 auth (requests/s) | 100 × 50 | ${fmt(r.updatesPerSec)} | ${fmt(r.forwardedPerSec ?? NaN)} | ${fmt(rx.got.length)} requests |`);
      await rx.stop();
    }
    console.log('\nWarm-up updates (one per board) are forwarded too, so the stand-ins see 100 more than boards × updates.');
  }
  if (!only || only === 'hello') {
    console.log('\n## Hello answer time, known vs unknown client id (a real `serve` process, 500 hellos each, alternating)\n');
    const g = await startGatewayProcess();
    try {
      const { knownUs, unknownUs } = await helloMedians(g.port, 500);
      console.log('| median known id µs | median unknown id µs | difference |');
      console.log('| ---: | ---: | ---: |');
      console.log(`| ${fmt(knownUs)} | ${fmt(unknownUs)} | ${fmt((100 * Math.abs(knownUs - unknownUs)) / Math.min(knownUs, unknownUs), 1)} % |`);
    } finally {
      await g.stop();
    }
  }
  if (!only || only === 'spool') {
    console.log('\n## The spool on disk: 100,000 readings (2 points each) appended one at a time, then drained 500 at a time\n');
    console.log('| store | appended readings/s | MB written appending | drained points/s | MB written draining |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const r of [benchSegments(), await benchSqlite()]) {
      if (r) console.log(`| ${r.store} | ${fmt(r.appendPerSec)} | ${fmt(r.appendMB, 1)} | ${fmt(r.drainPerSec)} | ${fmt(r.drainMB, 1)} |`);
    }
    console.log('\nMB written: /proc/self/io write_bytes. SQLite is measured only when installed (`npm install --no-save better-sqlite3@12`).');
  }
  if (!only || only === 'serial') {
    console.log('\n## One board on one serial line (socat pty pair) → verified → rrdtool\n');
    console.log('| mode | seconds | lines sent | stored | lost | verified updates/s |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of [await benchSerial(115200, { seconds: 10 }), await benchSerial(0, { lines: 20_000 })]) {
      console.log(`| ${r.mode} | ${fmt(r.seconds, 1)} | ${fmt(r.sent)} | ${fmt(r.stored)} | ${fmt(r.lost)} | ${fmt(r.updatesPerSec)} |`);
    }
    console.log('\nA line is `u temperature 21.50 <64 hex>\\r\\n`, 86 bytes: 115200 baud carries at most 134 such lines/s.');
  }
  if (only === 'rss') {
    console.log('\n## Memory of a `server.ts serve` process (VmRSS)\n');
    console.log('| boards connected and verified | RSS idle MB | RSS with boards MB, 3 s after | settled, 30 s after | per board KB, settled |');
    console.log('| ---: | ---: | ---: | ---: | ---: |');
    for (const n of [100, 1000, 10_000]) {
      const r = await benchRss(n);
      console.log(`| ${fmt(r.boards)} | ${fmt(r.idleMB, 1)} | ${fmt(r.connectedMB, 1)} | ${fmt(r.settledMB, 1)} | ${fmt(r.perBoardKB, 1)} |`);
    }
  }
}

/** The median of `rounds` runs, interleaved with the other configurations' by the caller. */
function median<T>(runs: T[], key: (r: T) => number): T {
  return [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)] as T;
}

/**
 * Issue 13 in one run: ingest with precomputed signed lines (verify only and into rrd, one
 * process and with session workers), against the HMAC floor; latency from write to rrd when
 * paced; forwarding a 200,000-point burst against carbon-c-relay; a reconnect storm; memory.
 * Configurations are interleaved over 3 rounds and each figure is the median.
 */
/** Issue 13's figures; `full` false: only ingest and forwarding (`npm run bench -- throughput`, a before/after comparison). */
async function benchIngest(full = true): Promise<void> {
  const rounds = 3;
  console.log('## Ingest, latency, forwarding, reconnect storm, memory (issue 13)\n');
  console.log('1,000 boards × 100 updates each, every line signed before the clock starts (the sender only writes bytes); medians of 3 interleaved rounds.\n');
  const floors: number[] = [];
  const configs = [
    { what: 'verify only', workers: 0, verifyOnly: true },
    { what: 'verify only', workers: 2, verifyOnly: true },
    { what: 'into rrd files', workers: 0, verifyOnly: false },
    { what: 'into rrd files', workers: 2, verifyOnly: false },
  ];
  const runs = configs.map((): TcpBenchResult[] => []);
  for (let r = 0; r < rounds; r++) {
    floors.push(hmacFloor());
    for (const [i, c] of configs.entries()) runs[i]?.push(await benchTcp(1000, 100, { precomputed: true, verifyOnly: c.verifyOnly, workers: c.workers }));
  }
  const floor = floors.sort((a, b) => a - b)[1] as number;
  console.log('| what | processes | updates/s | gateway cores | updates/s per core, of the HMAC floor | rrdtool cores | rrdtool: updates per CPU-second | sender cores |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(`| HMAC floor: Node's createHmac, 2 per update | one core | ${fmt(floor)} | 1.00 | 1.00 | | | |`);
  for (const [i, c] of configs.entries()) {
    const m = median(runs[i] as TcpBenchResult[], (x) => x.updatesPerSec);
    const rrdRate = c.verifyOnly ? '' : fmt(m.updatesPerSec / m.rrdtoolCores);
    console.log(`| ${c.what} | ${c.workers === 0 ? 'one' : `primary + ${c.workers} workers`} | ${fmt(m.updatesPerSec)} | ${fmt(m.gatewayCores, 2)} | ${fmt(m.updatesPerSec / m.gatewayCores / floor, 2)} | ${c.verifyOnly ? '' : fmt(m.rrdtoolCores, 2)} | ${rrdRate} | ${fmt(m.boardsCores, 2)} |`);
  }
  console.log(`\nHMAC floor over the rounds: ${floors.map((f) => fmt(f)).join(', ')} /s. Gateway cores: the CPU time of the gateway's processes (workers included, rrdtool not) over the run.`);

  if (full) await latencyTable(rounds);
  await forwardTable(rounds);
  if (!full) return;
  await stormTable(rounds);
  await memoryTable(rounds);
}

async function latencyTable(rounds: number): Promise<void> {
  console.log('\n### Latency from the board writing a line to its value stored (1,000 boards, paced, 10 s each)\n');
  console.log('| offered updates/s | processes | stored/s | p50 ms | p99 ms | gateway cores |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  for (const [interval, per] of [[1000, 10], [200, 50], [100, 100]] as const) {
    for (const workers of [0, 2]) {
      const lat: TcpBenchResult[] = [];
      for (let r = 0; r < rounds; r++) lat.push(await benchTcp(1000, per, { precomputed: true, paceIntervalMs: interval, workers }));
      const m = median(lat, (x) => x.p99Ms);
      console.log(`| ${fmt((1000 * 1000) / interval)} | ${workers === 0 ? 'one' : `primary + ${workers} workers`} | ${fmt(m.updatesPerSec)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p99Ms, 2)} (rounds: ${lat.map((x) => fmt(x.p99Ms, 1)).join(', ')}) | ${fmt(m.gatewayCores, 2)} |`);
    }
  }

}

async function forwardTable(rounds: number): Promise<void> {
  console.log('\n### Forwarding a burst of 200,000 points (1,000 metrics × 200 timestamps) to a CPython receiver on loopback\n');
  const fwd: Array<ForwardResult[]> = [[], [], []];
  for (let r = 0; r < rounds; r++) {
    const relay = await benchRelayForward();
    if (relay) fwd[0]?.push(relay);
    fwd[1]?.push(await benchGatewayForward('plaintext'));
    fwd[2]?.push(await benchGatewayForward('pickle'));
  }
  console.log('| forwarder | points/s | points through the disk spool | received, each round (of 200,000) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const runsOf of fwd) {
    if (runsOf.length === 0) continue;
    const m = median(runsOf, (x) => x.pointsPerSec);
    console.log(`| ${m.forwarder} | ${fmt(m.pointsPerSec)} (rounds: ${runsOf.map((x) => fmt(x.pointsPerSec)).join(', ')}) | ${fmt(m.spooled)} | ${runsOf.map((x) => fmt(x.points)).join(', ')} |`);
  }
  if (fwd[0]?.length === 0) console.log('\ncarbon-c-relay is not installed (Debian `carbon-c-relay`); its row is missing.');
  console.log("\nThe gateway's row is its destination stage alone (readings handed to the destination queue as the boards' sessions hand them), a relay's job; carbon-c-relay gets the same points as plaintext lines on one connection.");

}

async function stormTable(rounds: number): Promise<void> {
  console.log('\n### Reconnect storm: 5,000 boards whose rrd files exist connect at once, say hello and send one update\n');
  console.log('| processes | seconds until the last update is stored | connections the boards had to try again |');
  console.log('| --- | ---: | ---: |');
  for (const workers of [0, 2]) {
    const st: TcpBenchResult[] = [];
    for (let r = 0; r < rounds; r++) st.push(await benchTcp(5000, 1, { storm: true, workers }));
    const m = median(st, (x) => x.stormSeconds ?? NaN);
    console.log(`| ${workers === 0 ? 'one' : `primary + ${workers} workers`} | ${fmt(m.stormSeconds ?? NaN, 2)} (rounds: ${st.map((x) => fmt(x.stormSeconds ?? NaN, 2)).join(', ')}) | ${fmt(m.retries ?? 0)} |`);
  }
  console.log("\nThe boards' key material is fixed for the storm (the bench's gateway only, never `serve`), so each board's first line is signed before the clock starts; the gateway still derives all 5,000 keys (128 HMAC rounds each).");

}

async function memoryTable(rounds: number): Promise<void> {
  console.log('\n### Memory of a `serve` process (VmRSS), status page on\n');
  console.log('| command | boards connected and verified | RSS idle MB | RSS with boards MB, 3 s after the last hello | settled, 30 s after | per board KB, settled | start-up: spawn to port answering, that many profiles |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [label, args] of [['node dist/server.js serve', []], ['node --max-semi-space-size=2 dist/server.js serve (the systemd unit, `npm start`)', ['--max-semi-space-size=2']]] as const) {
    for (const n of [1000, 10_000]) {
      const mem = [];
      for (let r = 0; r < rounds; r++) mem.push(await benchRss(n, [...args]));
      const c = median(mem, (x) => x.connectedMB);
      const m = median(mem, (x) => x.settledMB);
      console.log(`| ${label} | ${fmt(n)} | ${fmt(m.idleMB, 1)} | ${fmt(c.connectedMB, 1)} (rounds: ${mem.map((x) => fmt(x.connectedMB, 1)).join(', ')}) | ${fmt(m.settledMB, 1)} (rounds: ${mem.map((x) => fmt(x.settledMB, 1)).join(', ')}) | ${fmt(m.perBoardKB, 1)} | ${fmt(median(mem, (x) => x.startupMs).startupMs / 1000, 2)} s |`);
    }
  }
  console.log('\nThe boards connect 100 at a time and stay connected, quiet, throughout. 3 s after the last hello the heap still holds garbage of the hellos (each derivation makes 256 digests) until V8 collects and compacts, which it does for an idle process some 20-30 s later; the settled figure is what the gateway holds with those boards connected and quiet. Start-up includes Node loading the gateway (about 0.2 s with one profile); profiles are read after the port is open.\n');
}

await main();
process.exit(0);

/** Updates/s one core could verify if the two HMACs of each were all it did (Node's createHmac): the best of 3 after a warm-up. */
function hmacFloor(n = 200_000): number {
  const master = createHash('sha256').update('bench').digest();
  let key = Buffer.alloc(32, 1);
  const line = 'u temperature 21.50';
  const round = (count: number): number => {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      createHmac('sha256', key).update(line, 'latin1').digest();
      key = createHmac('sha256', master).update(key).digest();
    }
    return count / ((performance.now() - start) / 1000);
  };
  round(n / 10);
  return Math.max(round(n), round(n), round(n));
}
