import { CodecError } from '../../errors.ts';

/**
 * DalmatinerDB's TCP protocol, both dialects (docs/dalmatinerdb.md). Pure functions:
 * values in, bytes out, and back. `doc` is the protocol document's dialect (9-byte
 * points), `release` what tagged releases 0.1–0.3 speak (8-byte points).
 */
export type Dialect = 'doc' | 'release';

/** A point value: an integer, a float (release with floats only), or null for unset. */
export type DalmatinerValue = number | null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT56_MIN = -(2n ** 55n);
const INT56_MAX = 2n ** 55n - 1n;

/** Bytes per point in each dialect. */
export function pointSize(dialect: Dialect): number {
  return dialect === 'doc' ? 9 : 8;
}

/** One point. Integers out of the dialect's range throw E_VALUE_RANGE (never wrapped). */
export function encodePoint(dialect: Dialect, value: DalmatinerValue, asFloat = false): Buffer {
  const out = Buffer.alloc(pointSize(dialect));
  if (value === null) return out;
  if (asFloat) {
    if (dialect !== 'release') throw new CodecError('E_CODEC', 'float points exist only in the release dialect');
    // mmath >= 0.2 float word: a 1 bit, then the top 63 bits of the IEEE double.
    const bits = Buffer.alloc(8);
    bits.writeDoubleBE(value);
    out.writeBigUInt64BE((bits.readBigUInt64BE() >> 1n) | (1n << 63n));
    return out;
  }
  if (!Number.isInteger(value)) throw new CodecError('E_VALUE_RANGE', `${value} is not an integer; scale it first`);
  const v = BigInt(value);
  if (dialect === 'doc') {
    if (v < INT64_MIN || v > INT64_MAX) throw new CodecError('E_VALUE_RANGE', `${value} does not fit a 64-bit point`);
    out[0] = 1;
    out.writeBigInt64BE(v, 1);
  } else {
    if (v < INT56_MIN || v > INT56_MAX) throw new CodecError('E_VALUE_RANGE', `${value} does not fit a 56-bit point`);
    out.writeBigUInt64BE((1n << 56n) | (BigInt.asUintN(56, v)));
  }
  return out;
}

export function decodePoint(dialect: Dialect, bytes: Buffer): DalmatinerValue {
  if (bytes.length !== pointSize(dialect)) throw new CodecError('E_FRAME_TRUNCATED', `a ${dialect} point is ${pointSize(dialect)} bytes, got ${bytes.length}`);
  if (dialect === 'doc') {
    if (bytes[0] === 0) return null;
    if (bytes[0] !== 1) throw new CodecError('E_CODEC', `unknown point tag ${bytes[0]}`);
    return Number(bytes.readBigInt64BE(1));
  }
  const word = bytes.readBigUInt64BE();
  if (word === 0n) return null;
  if (word >> 63n === 1n) {
    const bits = Buffer.alloc(8);
    bits.writeBigUInt64BE((word << 1n) & (2n ** 64n - 1n));
    return bits.readDoubleBE();
  }
  if (word >> 56n !== 1n) throw new CodecError('E_CODEC', `unknown point tag ${word >> 56n}`);
  return Number(BigInt.asIntN(56, word));
}

/** `<<Len:32, Body>>`. */
export function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Switch a connection to stream mode (framed; nothing after it is framed). */
export function encodeStreamInit(dialect: Dialect, bucket: string, maxDelay: number): Buffer {
  const b = bucketBytes(bucket);
  if (!Number.isInteger(maxDelay) || maxDelay < 0 || maxDelay > 255) throw new CodecError('E_VALUE_RANGE', 'max delay must be 0..255');
  return frame(dialect === 'doc' ? Buffer.concat([Buffer.from([4, maxDelay]), b]) : Buffer.concat([Buffer.from([4, maxDelay, b.length]), b]));
}

/** Forces a flush of the server's cache (stream mode, unframed). */
export function encodeFlush(dialect: Dialect): Buffer {
  return Buffer.from([dialect === 'doc' ? 2 : 6]);
}

/**
 * Points for slots `time .. time+N-1` of one metric (stream mode, unframed).
 * `metric` is the name (doc) or its parts (release: `<<Len:8, Part>>` each).
 */
export function encodePayload(dialect: Dialect, metric: string | readonly string[], time: number, points: readonly Buffer[]): Buffer {
  const data = Buffer.concat(points);
  const m = dialect === 'doc' ? Buffer.from(typeof metric === 'string' ? metric : metric.join('.'), 'utf8') : metricParts(typeof metric === 'string' ? metric.split('.') : metric);
  if (m.length > 0xffff) throw new CodecError('E_VALUE_RANGE', 'metric name too long');
  const head = Buffer.alloc(11); // tag, Time:64, MetricSize:16 in both dialects
  head[0] = dialect === 'doc' ? 1 : 5;
  head.writeBigUInt64BE(BigInt(time), 1);
  head.writeUInt16BE(m.length, 9);
  let size: Buffer;
  if (dialect === 'doc') {
    if (data.length > 0xffff) throw new CodecError('E_VALUE_RANGE', 'too many points in one payload');
    size = Buffer.alloc(2);
    size.writeUInt16BE(data.length);
  } else {
    size = Buffer.alloc(4);
    size.writeUInt32BE(data.length);
  }
  return Buffer.concat([head, m, size, data]);
}

/** List buckets (framed query). */
export function encodeListBuckets(): Buffer {
  return frame(Buffer.from([3]));
}

/** List metrics in a bucket (framed query). */
export function encodeListMetrics(bucket: string): Buffer {
  const b = bucketBytes(bucket);
  return frame(Buffer.concat([Buffer.from([1, b.length]), b]));
}

/** Get `count` points of a metric from `time` (framed query). */
export function encodeGet(bucket: string, metric: string, time: number, count: number): Buffer {
  const b = bucketBytes(bucket);
  const m = Buffer.from(metric, 'utf8');
  const tail = Buffer.alloc(12);
  tail.writeBigUInt64BE(BigInt(time));
  tail.writeUInt32BE(count, 8);
  const ml = Buffer.alloc(2);
  ml.writeUInt16BE(m.length);
  return frame(Buffer.concat([Buffer.from([2, b.length]), b, ml, m, tail]));
}

/** Bytes of the length field in front of a list reply. */
export function listReplyHeaderSize(dialect: Dialect): number {
  return dialect === 'doc' ? 4 : 8;
}

/** A list reply `<<Total:32|64, {Len:16, Name}*>>` → names. Rejects truncated and trailing bytes. */
export function decodeListReply(dialect: Dialect, bytes: Buffer): string[] {
  const hs = listReplyHeaderSize(dialect);
  if (bytes.length < hs) throw new CodecError('E_FRAME_TRUNCATED', `list reply shorter than its ${hs}-byte length`);
  const total = dialect === 'doc' ? bytes.readUInt32BE(0) : Number(bytes.readBigUInt64BE(0));
  if (bytes.length - hs < total) throw new CodecError('E_FRAME_TRUNCATED', `list reply says ${total} bytes, has ${bytes.length - hs}`);
  if (bytes.length - hs > total) throw new CodecError('E_CODEC', 'list reply has bytes after its end');
  const names: string[] = [];
  let pos = hs;
  while (pos < bytes.length) {
    if (pos + 2 > bytes.length) throw new CodecError('E_FRAME_TRUNCATED', 'list entry cut in its length');
    const len = bytes.readUInt16BE(pos);
    pos += 2;
    if (pos + len > bytes.length) throw new CodecError('E_FRAME_TRUNCATED', 'list entry cut in its name');
    names.push(bytes.toString('utf8', pos, pos + len));
    pos += len;
  }
  return names;
}

/** A get reply body `<<Resolution:64, Points>>` (after its frame length). */
export function decodeGetReply(dialect: Dialect, body: Buffer, count: number): { resolution: number; points: DalmatinerValue[] } {
  const ps = pointSize(dialect);
  if (body.length !== 8 + count * ps) throw new CodecError(body.length < 8 + count * ps ? 'E_FRAME_TRUNCATED' : 'E_CODEC', `get reply of ${count} points should be ${8 + count * ps} bytes, got ${body.length}`);
  const points: DalmatinerValue[] = [];
  for (let i = 0; i < count; i++) points.push(decodePoint(dialect, body.subarray(8 + i * ps, 8 + (i + 1) * ps)));
  return { resolution: Number(body.readBigUInt64BE(0)), points };
}

/** Scales a reading into an integer point (docs/dalmatinerdb.md, "Readings to points"). */
export function scaleValue(value: number | null, scale: number): DalmatinerValue {
  return value === null ? null : Math.round(value * scale);
}

function bucketBytes(bucket: string): Buffer {
  const b = Buffer.from(bucket, 'utf8');
  if (b.length === 0 || b.length > 255) throw new CodecError('E_VALUE_RANGE', 'bucket name must be 1..255 bytes');
  return b;
}

function metricParts(parts: readonly string[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      const b = Buffer.from(p, 'utf8');
      if (b.length > 255) throw new CodecError('E_VALUE_RANGE', 'metric part over 255 bytes');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );
}
