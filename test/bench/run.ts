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
import { benchTcp } from './tcp-bench.ts';
import { Carbon } from '../helpers/carbon.ts';
import { freePort, tempDir } from '../helpers/fixtures.ts';
import { DalmatinerReceiver, GottwallReceiver } from '../helpers/receivers.ts';

const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : '-');

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log(`# rrduino-gateway benchmark — ${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`);
  if (only === 'ingest') {
    console.log('## Ingest with precomputed signed lines (the sender only writes bytes)\n');
    const floor = hmacFloor();
    console.log('| what | boards × updates | updates/s | gateway cores | of the HMAC floor per core |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(`| HMAC floor: Node's createHmac, 2 per update, one core | 200,000 | ${fmt(floor)} | 1.00 | 1.00 |`);
    for (const [n, per] of [[100, 600], [1000, 60]] as const) {
      const v = await benchTcp(n, per, { precomputed: true, verifyOnly: true });
      console.log(`| verify only | ${fmt(n)} × ${per} | ${fmt(v.updatesPerSec)} | ${fmt(v.gatewayCores, 2)} | ${fmt(v.updatesPerSec / v.gatewayCores / floor, 2)} |`);
      const e = await benchTcp(n, per, { precomputed: true });
      console.log(`| into rrd files | ${fmt(n)} × ${per} | ${fmt(e.updatesPerSec)} | ${fmt(e.gatewayCores, 2)} | ${fmt(e.updatesPerSec / e.gatewayCores / floor, 2)} |`);
    }
    console.log('\nGateway cores: the CPU time of the gateway process (not its rrdtool children) over the run.');
    return;
  }
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
  if (!only || only === 'rss') {
    console.log('\n## Memory of a `server.ts serve` process (VmRSS)\n');
    console.log('| boards connected and verified | RSS idle MB | RSS with boards MB | per board KB |');
    console.log('| ---: | ---: | ---: | ---: |');
    for (const n of [100, 1000, 10_000]) {
      const r = await benchRss(n);
      console.log(`| ${fmt(r.boards)} | ${fmt(r.idleMB, 1)} | ${fmt(r.connectedMB, 1)} | ${fmt(r.perBoardKB, 1)} |`);
    }
  }
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
