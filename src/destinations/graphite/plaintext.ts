/** A Graphite point: path, Unix seconds, value. */
export type GraphitePoint = readonly [path: string, timestamp: number, value: number];

/** Carbon's line protocol: `<path> <value> <unix-seconds>\n` per point. Pure. */
export function encodePlaintext(points: readonly GraphitePoint[]): string {
  let out = '';
  // String(number) is the shortest form that reads back to the same double.
  for (const [path, timestamp, value] of points) out += `${path} ${value} ${timestamp}\n`;
  return out;
}
