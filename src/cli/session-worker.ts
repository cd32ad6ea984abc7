/**
 * A session worker of `serve --workers N` (forked by the WorkerPool, never run by hand): serves
 * boards over TCP on the port it shares with the other workers, verifies their lines, and
 * runs the handlers, whose rrd writes, readings and counters go to the primary.
 */
import cluster from 'node:cluster';
import { WORKER_CONFIG_ENV, type PrimaryMessage, type WorkerConfig, type WorkerMessage } from '../cluster/cluster-messages.ts';
import { PrimaryChannel } from '../cluster/primary-channel.ts';
import { GatewayClock } from '../clock/gateway-clock.ts';
import { ConfigError, ProfileError, errorCode, errorMessage } from '../errors.ts';
import { Gateway } from '../gateway.ts';
import { HandlerRegistry } from '../handlers/handler-registry.ts';
import { createServiceLogger } from '../logger.ts';
import { logStaleProfile, ProfileStore } from '../profiles/profile-store.ts';

function send(message: WorkerMessage, then?: () => void): void {
  process.send?.(message, undefined, {}, then);
}

/** Leaves once the last message is out; something still holding the loop gets a second. */
function leave(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
  if (process.connected) process.disconnect();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? 'null') as WorkerConfig | null;
  if (config === null || !cluster.isWorker) throw new ConfigError('E_CONFIG_INVALID', 'session-worker is started by `serve --workers`, not by hand');
  // The primary decides when to stop: a Ctrl-C or systemd's SIGTERM reaches the whole group,
  // and a worker that left on its own would drop the updates it holds.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
  const logger = (await createServiceLogger(config.logLevel, config.logFormat)).child({ worker: cluster.worker?.id });
  const registry = HandlerRegistry.withBuiltins();
  for (const file of config.handlerModules) await registry.loadModule(file);
  const channel = new PrimaryChannel(send, new GatewayClock({ floorMs: config.floorMs, logger }));
  const gateway = new Gateway({
    profiles: new ProfileStore(config.profilesDir, registry, logStaleProfile(logger)),
    dataDir: config.dataDir,
    logger,
    announce: false,
    maxLineLength: config.maxLineLength,
    maxConnections: config.maxConnections,
    maxUnverifiedPerAddress: config.maxUnverifiedPerAddress,
    helloTimeoutMs: config.helloTimeoutMs,
    limits: { handshakeTimeoutMs: config.handshakeTimeoutMs, idleTimeoutMs: config.idleTimeoutMs },
    backend: channel,
    random: config.benchKeyMaterial === undefined ? undefined : () => Buffer.from(config.benchKeyMaterial as string, 'hex'),
  });
  let stopping = false;
  process.on('message', (m: PrimaryMessage) => {
    if (m.kind === 'replies') channel.onReplies(m.ok, m.failed);
    else if (m.kind === 'supersede') channel.supersede(m.session);
    else if (!stopping) {
      stopping = true;
      void gateway.close().finally(() => {
        channel.flush();
        send({ kind: 'stopped' }, () => leave(0));
      });
    }
  });
  // The primary is gone (killed): nothing here can be stored any more; the boards will reconnect.
  process.on('disconnect', () => {
    channel.fail('the primary process is gone');
    if (!stopping) process.exit(1);
  });
  const address = await gateway.listenTcp(config.host, config.port);
  send({ kind: 'listening', host: address.address, port: address.port });
}

main().catch((err: unknown) => {
  send({ kind: 'failed', code: errorCode(err), message: errorMessage(err), usage: err instanceof ConfigError || err instanceof ProfileError }, () => leave(1));
});
