/** The shape of an rrd file, from `rrdtool info`: what a graph of it needs. */
export interface RrdInfo {
  readonly step: number;
  readonly lastUpdate: number;
  readonly sources: ReadonlyArray<{ name: string; type: string; min: number; max: number }>;
  /** Consolidation functions its archives keep (`AVERAGE`, `LAST`, …). */
  readonly cfs: readonly string[];
}

/** Parses `rrdtool info` output. Pure. */
export function parseRrdInfo(text: string): RrdInfo {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line);
    if (m) values.set(m[1] as string, (m[2] as string).replace(/^"(.*)"$/, '$1'));
  }
  const names = [...values.keys()].map((k) => /^ds\[([^\]]+)\]\.index$/.exec(k)?.[1]).filter((n): n is string => n !== undefined);
  const sources = names
    .map((name) => ({
      name,
      index: Number(values.get(`ds[${name}].index`)),
      type: values.get(`ds[${name}].type`) ?? '?',
      min: Number(values.get(`ds[${name}].min`)),
      max: Number(values.get(`ds[${name}].max`)),
    }))
    .sort((a, b) => a.index - b.index)
    .map(({ name, type, min, max }) => ({ name, type, min, max }));
  const cfs = [...new Set([...values].filter(([k]) => /^rra\[\d+\]\.cf$/.test(k)).map(([, v]) => v))];
  return { step: Number(values.get('step') ?? NaN), lastUpdate: Number(values.get('last_update') ?? NaN), sources, cfs };
}
