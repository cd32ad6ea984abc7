import { connect } from 'node:net';
import { CodecError, DeliveryError } from '../../errors.ts';
import type { StreamAddress } from '../../delivery/stream-connection.ts';
import { decodeGetReply, decodeListReply, encodeGet, encodeListBuckets, encodeListMetrics, listReplyHeaderSize, pointSize, type DalmatinerValue, type Dialect } from './codec.ts';

/** Replies larger than this are refused (a list of every metric of a big bucket fits). */
const MAX_REPLY = 64 << 20;

/** Sends one framed query and reads exactly one reply of `expect(header)` bytes. */
function exchange(address: StreamAddress, request: Buffer, headerSize: number, bodySize: (header: Buffer) => number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    let buf = Buffer.alloc(0);
    let need = -1;
    const timer = setTimeout(() => socket.destroy(new DeliveryError(`no complete reply within ${timeoutMs} ms`, true)), timeoutMs);
    const done = (err?: Error, reply?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as Buffer);
    };
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        if (need < 0 && buf.length >= headerSize) {
          need = headerSize + bodySize(buf.subarray(0, headerSize));
          if (need - headerSize > MAX_REPLY) throw new CodecError('E_FRAME_TOO_LARGE', `reply of ${need - headerSize} bytes is over the ${MAX_REPLY}-byte limit`);
        }
        if (need >= 0 && buf.length >= need) {
          if (buf.length > need) throw new CodecError('E_CODEC', 'server sent more than one reply');
          done(undefined, buf);
        }
      } catch (err) {
        done(err as Error);
      }
    });
    socket.on('end', () => done(new CodecError('E_FRAME_TRUNCATED', `connection closed after ${buf.length} byte(s) of the reply`)));
    socket.on('error', (err) => done(err instanceof CodecError || err instanceof DeliveryError ? err : new DeliveryError(`cannot query ${address.host}:${address.port}: ${err.message}`, true)));
  });
}

function lengthOf(dialect: Dialect) {
  return (header: Buffer): number => (dialect === 'doc' ? header.readUInt32BE(0) : Number(header.readBigUInt64BE(0)));
}

export async function listBuckets(address: StreamAddress, dialect: Dialect, timeoutMs = 10_000): Promise<string[]> {
  const hs = listReplyHeaderSize(dialect);
  return decodeListReply(dialect, await exchange(address, encodeListBuckets(), hs, lengthOf(dialect), timeoutMs));
}

export async function listMetrics(address: StreamAddress, dialect: Dialect, bucket: string, timeoutMs = 10_000): Promise<string[]> {
  const hs = listReplyHeaderSize(dialect);
  return decodeListReply(dialect, await exchange(address, encodeListMetrics(bucket), hs, lengthOf(dialect), timeoutMs));
}

export async function getPoints(
  address: StreamAddress,
  dialect: Dialect,
  q: { bucket: string; metric: string; from: number; count: number },
  timeoutMs = 10_000,
): Promise<{ resolution: number; points: DalmatinerValue[] }> {
  if (q.count * pointSize(dialect) > MAX_REPLY) throw new CodecError('E_FRAME_TOO_LARGE', 'count too large for one reply');
  const reply = await exchange(address, encodeGet(q.bucket, q.metric, q.from, q.count), 4, (h) => h.readUInt32BE(0), timeoutMs);
  return decodeGetReply(dialect, reply.subarray(4), q.count);
}
