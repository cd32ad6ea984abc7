#!/usr/bin/env node
/**
 * rrduino-gateway command line. Only flag parsing, start, signals and exit codes
 * live here; the work is in src/.
 * Exit codes: 0 ok, 1 runtime failure, 2 invalid usage, profile or configuration.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, PLAIN_CONFIG_OPTIONS, type GatewayConfig } from './src/config/gateway-config.ts';
import type { DestinationConfig } from './src/destinations/destination-config.ts';
import { VERSION } from './src/version.ts';
import { DEFAULT_BAUD, DEFAULT_SERIAL_LOOKAHEAD, parseSerialSpec } from './src/transport/serial-line.ts';
import type { Dialect } from './src/destinations/dalmatinerdb/codec.ts';
import { join, resolve } from 'node:path';
import { runDemo } from './src/cli/demo.ts';
import { listBoards } from './src/cli/list.ts';
import { startGateway, stopOnSignals, type ServeOptions } from './src/cli/serve.ts';
import { ConfigError, ProfileError, errorMessage } from './src/errors.ts';
import { LOG_LEVELS } from './src/logger.ts';
import { buildProfile, configHeaderLines, parseSource, writeProfile } from './src/profiles/create-profile.ts';
import { DEFAULT_MAX_LINE_LENGTH } from './src/transport/line-parser.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNVERIFIED_PER_ADDRESS, DEFAULT_PORT } from './src/transport/tcp-listener.ts';
import { DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_LIMITS } from './src/board-session.ts';
import { DEFAULT_HTTP } from './src/status/http-address.ts';

function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function rrdcachedAddress(value: string): string {
  if (!/^(unix:\/.+|[^:/\s]+:\d{1,5})$/.test(value)) throw new InvalidArgumentError('must be unix:/path/to/socket or host:port');
  return value;
}

function withServeOptions(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'TCP port for boards', int(0, 65535), DEFAULT_PORT)
    .option('--profiles <dir>', 'profile directory', 'profiles')
    .option('--data <dir>', 'directory for relative rrd paths', 'data')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines: pretty (local times, for people), json (for machines), auto (pretty on a terminal)').choices(['auto', 'json', 'pretty']).default('auto'))
    .option('--rrd-processes <n>', 'rrdtool processes to spread files over', int(1, 64), 2)
    .option('--workers <n>', 'processes that serve the TCP boards (sessions, HMACs, handlers) beside this one, which keeps the rrd files and destinations; 0: all in one process', int(0, 64), 0)
    .option('--rrdcached <address>', 'write updates through rrdcached (unix:/path/to/socket or host:port): each file written once per flush interval', rrdcachedAddress)
    .option('--max-line-length <bytes>', 'longest line a board may send', int(16, 1 << 20), DEFAULT_MAX_LINE_LENGTH)
    .option('--max-connections <n>', 'open TCP connections at most', int(1, 1_000_000), DEFAULT_MAX_CONNECTIONS)
    .option('--max-unverified-per-address <n>', 'TCP connections one address may hold before a key verified', int(1, 1_000_000), DEFAULT_MAX_UNVERIFIED_PER_ADDRESS)
    .option('--hello-timeout <s>', 'seconds from connect to hello', int(1, 86400), DEFAULT_HELLO_TIMEOUT_MS / 1000)
    .option('--handshake-timeout <s>', 'seconds from hello to first signed message (≥ 15)', int(15, 86400), DEFAULT_LIMITS.handshakeTimeoutMs / 1000)
    .option('--idle-timeout <s>', 'seconds without a verified message before hanging up', int(1, 7 * 86400), DEFAULT_LIMITS.idleTimeoutMs / 1000)
    .option('--handlers <module>', 'load handler classes from a JS/TS module (repeatable)', collect, [])
    .option('--stats-interval <s>', 'log counters every N seconds (0 = never)', int(0, 86400), 60)
    .option('--gateway-metrics-interval <s>', "send the gateway's own counters to the Graphite destinations every N seconds, as <prefix>.gateway.<host>.* (0 = never)", int(0, 86400), 60)
    .option('--serial <path[:baud]>', `serve a board on a serial device, default ${DEFAULT_BAUD} baud (repeatable)`, collect, [])
    .option('--serial-lookahead <n>', `keys to look past after lost serial lines (default ${DEFAULT_SERIAL_LOOKAHEAD})`, int(0, 64))
    .option('--http <host:port|off>', 'status page, /metrics and /healthz (off: none)', DEFAULT_HTTP)
    .option('--config <file>', 'gateway config file (JSON); flags given explicitly win');
}

type RawServe = Omit<ServeOptions, 'serial'> & { serial: string[]; config?: string };

/** Flags, over the config file, over defaults. */
async function serveOptions(raw: RawServe, cmd: Command): Promise<ServeOptions> {
  const serial = raw.serial.map(parseSerialSpec);
  if (!raw.config) return { ...raw, serial };
  const cfg = await loadConfig(raw.config);
  const merged: Record<string, unknown> = { ...raw };
  for (const name of PLAIN_CONFIG_OPTIONS) {
    if (cmd.getOptionValueSource(name) !== 'cli' && cfg[name] !== undefined) merged[name] = cfg[name];
  }
  if (cmd.getOptionValueSource('http') !== 'cli' && cfg.http !== undefined) merged['http'] = cfg.http === false ? 'off' : cfg.http;
  const file = raw.config;
  const destinationsOf = async (c: GatewayConfig): Promise<DestinationConfig[]> =>
    c.destinations?.length ? (await import('./src/destinations/destination-config.ts')).validateDestinations(c.destinations, file) : [];
  return {
    ...(merged as unknown as RawServe),
    serial: [...(cfg.serial ?? []).map((s) => ({ path: s.path, baudRate: s.baud ?? DEFAULT_BAUD, lookahead: s.lookahead })), ...serial],
    destinations: await destinationsOf(cfg),
    rereadDestinations: async () => destinationsOf(await loadConfig(file)),
  };
}

function fail(err: unknown): never {
  console.error(`error: ${errorMessage(err)}`);
  const usage = err instanceof ProfileError || err instanceof ConfigError || err instanceof InvalidArgumentError;
  process.exit(usage ? 2 : 1);
}

const program = new Command()
  .name('rrduino-gateway')
  .description('Gateway for rrduino sensor boards: verified updates over TCP and serial into rrdtool')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  // Usage errors (unknown option, bad value, missing argument) exit 2, as documented; help exits 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

withServeOptions(program.command('serve').description('run the gateway')).action(async (raw: RawServe, cmd: Command) => {
  const gateway = await serveOptions(raw, cmd).then(startGateway).catch(fail);
  stopOnSignals(() => gateway.close(), gateway.logger);
});

withServeOptions(program.command('demo').description('run the gateway with profiles/example.json and one simulated board'))
  .option('--interval <ms>', 'ms between simulated updates', int(100, 3_600_000), 2000)
  .option('--duration <s>', 'stop after N seconds and list boards (0 = run until Ctrl-C)', int(0, 86400), 0)
  .action(async (raw: RawServe & { interval: number; duration: number }, cmd: Command) => {
    const o = await serveOptions(raw, cmd).catch(fail);
    await runDemo({ ...o, intervalMs: raw.interval, duration: raw.duration }).catch(fail);
  });

program
  .command('ports')
  .description('list serial ports (path, manufacturer, serial number) to find a board')
  .action(async () => {
    const { listSerialPorts } = await import('./src/transport/serial-ports.ts');
    const ports = await listSerialPorts().catch(fail);
    if (ports.length === 0) console.log('no serial ports found (is the board plugged in? see `dmesg | tail`)');
    for (const p of ports) {
      console.log([p.path, p.manufacturer ?? '-', p.serialNumber ?? '-', p.byId ?? ''].join('\t').trimEnd());
    }
  });

program
  .command('create <client_id>')
  .description("write a new board profile and print the lines for the board's config.h")
  .option('--profiles <dir>', 'profile directory', 'profiles')
  .option('--key <key>', 'pre-shared key (default: 32 random characters)')
  .option('--source <name:TYPE:min:max>', 'data source (repeatable; default temperature:GAUGE:-50:110)', collect, [])
  .option('--step <s>', 'rrd step in seconds', int(1, 86400), 60)
  .option('--heartbeat <s>', 'seconds without data before a value is unknown (default 2 × step)', int(1, 10 * 86400))
  .option('--rra <def>', 'RRA definition (repeatable; default: a day raw, a week, 90 days hourly, 5 years daily)', collect, [])
  .option('--path <file>', 'rrd file (default <client_id>.rrd under the data dir)')
  .option('--handler <class>', 'handler class (default RRDuinoHandler)')
  .option('--force', 'overwrite an existing profile')
  .action(async (clientId: string, o: { profiles: string; key?: string; source: string[]; step: number; heartbeat?: number; rra: string[]; path?: string; handler?: string; force?: boolean }) => {
    try {
      const profile = buildProfile({
        clientId,
        key: o.key,
        sources: o.source.map(parseSource),
        step: o.step,
        heartbeat: o.heartbeat,
        rras: o.rra.length ? o.rra : undefined,
        path: o.path,
        handler: o.handler,
      });
      const { validateProfile } = await import('./src/profiles/profile-store.ts');
      const { HandlerRegistry } = await import('./src/handlers/handler-registry.ts');
      const file = join(resolve(o.profiles), `${clientId}.json`);
      const { warnings } = validateProfile(profile, clientId, file, HandlerRegistry.withBuiltins());
      await writeProfile(file, profile, o.force ?? false);
      for (const w of warnings) console.error(`warning ${w.code}: ${w.message}`);
      console.error(`wrote ${file} (mode 0600). Put these two lines in the board's config.h:`);
      process.stdout.write(configHeaderLines(clientId, profile.key));
    } catch (err) {
      fail(err);
    }
  });

const dalmatiner = program
  .command('dalmatiner')
  .description('query a DalmatinerDB server to check what arrived')
  .option('--address <host:port>', 'DalmatinerDB TCP address', '127.0.0.1:5555')
  .addOption(new Option('--dialect <dialect>', 'protocol dialect').choices(['doc', 'release']).default('doc'));
// The query code is loaded only for these commands.
const dq = async () => {
  const o = dalmatiner.opts<{ address: string; dialect: Dialect }>();
  const { parseAddress } = await import('./src/delivery/stream-connection.ts');
  const query = await import('./src/destinations/dalmatinerdb/dalmatiner-query.ts');
  return { address: parseAddress(o.address), dialect: o.dialect, ...query };
};
dalmatiner.command('buckets').description('list buckets').action(async () => {
  const { address, dialect, listBuckets } = await dq().catch(fail);
  for (const b of await listBuckets(address, dialect).catch(fail)) console.log(b);
});
/** A bucket name DalmatinerDB can take, or a usage error (exit 2) before anything connects. */
function checkBucket(bucket: string): void {
  const bytes = Buffer.byteLength(bucket);
  if (bytes < 1 || bytes > 255) throw new InvalidArgumentError(`<bucket> must be 1 to 255 bytes, got ${bytes}`);
}
dalmatiner.command('metrics <bucket>').description('list the metrics in a bucket').action(async (bucket: string) => {
  try {
    checkBucket(bucket);
  } catch (err) {
    fail(err);
  }
  const { address, dialect, listMetrics } = await dq().catch(fail);
  for (const m of await listMetrics(address, dialect, bucket).catch(fail)) console.log(m);
});
dalmatiner
  .command('get <bucket> <metric> <from> <count>')
  .description('points of a metric from a time (slot), one per line; blank slots print as -')
  .action(async (bucket: string, metric: string, from: string, count: string) => {
    const { address, dialect, getPoints } = await dq().catch(fail);
    let range: { from: number; count: number };
    try {
      const arg = (name: string, parse: (v: string) => number, v: string): number => {
        try {
          return parse(v);
        } catch (err) {
          throw new InvalidArgumentError(`<${name}> '${v}' ${errorMessage(err)}`);
        }
      };
      checkBucket(bucket);
      if (metric.split('.').some((p) => p === '' || Buffer.byteLength(p) > 255)) {
        throw new InvalidArgumentError(`<metric> '${metric}' must be dot-separated parts of 1 to 255 bytes (board.source, e.g. kitchen.temperature)`);
      }
      range = { from: arg('from', int(0, Number.MAX_SAFE_INTEGER), from), count: arg('count', int(1, 1_000_000), count) };
    } catch (err) {
      fail(err);
    }
    const r = await getPoints(address, dialect, { bucket, metric, ...range }).catch(fail);
    console.log(`# resolution ${r.resolution}`);
    r.points.forEach((p, i) => console.log(`${Number(from) + i}\t${p ?? '-'}`));
  });

program
  .command('check')
  .description("validate every profile (rrdtool creates each one's rrd in a scratch directory) or, with --config, everything serve would load; exit 2 on any error")
  .option('--profiles <dir>', 'profile directory', 'profiles')
  .option('--config <file>', 'gateway config file: check it, its destinations and handlers, and the profiles it names')
  .option('--handlers <module>', 'load handler classes from a JS/TS module (repeatable), as serve does', collect, [])
  .action(async (o: { profiles: string; config?: string; handlers: string[] }) => {
    const { checkConfig, checkProfiles } = await import('./src/cli/check.ts');
    const { HandlerRegistry } = await import('./src/handlers/handler-registry.ts');
    const out = (l: string): void => console.log(l);
    const registry = HandlerRegistry.withBuiltins();
    for (const file of o.handlers) await registry.loadModule(file).catch(fail);
    const bad = await (o.config ? checkConfig(o.config, out) : checkProfiles(o.profiles, out, registry)).catch(fail);
    process.exit(bad > 0 ? 2 : 0);
  });

program
  .command('list')
  .description('boards, their rrd files, last update and its age (exit 1 if an rrd file cannot be read)')
  .option('--profiles <dir>', 'profile directory', 'profiles')
  .option('--data <dir>', 'directory for relative rrd paths', 'data')
  .option('--json', 'as JSON')
  .option('--rrdcached <address>', "the gateway's rrdcached: files are flushed before they are read", rrdcachedAddress)
  .option('--handlers <module>', 'load handler classes from a JS/TS module (repeatable), as serve does', collect, [])
  .action(async (o: { profiles: string; data: string; json?: boolean; rrdcached?: string; handlers: string[] }) => {
    const { HandlerRegistry } = await import('./src/handlers/handler-registry.ts');
    const registry = HandlerRegistry.withBuiltins();
    for (const file of o.handlers) await registry.loadModule(file).catch(fail);
    const boards = await listBoards(o.profiles, o.data, (l) => console.log(l), { json: o.json, rrdcached: o.rrdcached, registry }).catch(fail);
    process.exit(boards.some((b) => b.state === 'error') ? 1 : 0);
  });

await program.parseAsync(process.argv);
