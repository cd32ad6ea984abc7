import type { RrdInfo } from '../rrd/rrd-info.ts';

/** The periods a board's page shows, and how long a drawn graph of each stays fresh. */
export const GRAPH_PERIODS = {
  hour: { start: '-1h', title: 'last hour', cacheMs: 30_000 },
  day: { start: '-1d', title: 'last day', cacheMs: 300_000 },
  week: { start: '-1w', title: 'last week', cacheMs: 1_800_000 },
  year: { start: '-1y', title: 'last year', cacheMs: 6 * 3_600_000 },
} as const;
export type GraphPeriod = keyof typeof GRAPH_PERIODS;

/** Line colours, one per data source (a colour-blind-safe set). */
export const GRAPH_COLOURS = ['0072B2', 'D55E00', '009E73', 'CC79A7', 'E69F00', '56B4E9', 'F0E442', '000000'];

/** Units by data source name when the profile names none (`handler_options.units`). */
const DEFAULT_UNITS: Readonly<Record<string, string>> = { temperature: '°C', humidity: '%', pressure: 'hPa', battery: 'V' };

/** The unit of a data source: the profile's, else a usual one for its name, else none. */
export function unitOf(name: string, units: Readonly<Record<string, string>> | undefined): string {
  return units?.[name] ?? DEFAULT_UNITS[name] ?? '';
}

/**
 * `rrdtool graph - …` arguments for one board and period: a line per data source, its unit,
 * and its last, min and max in the legend. Pure.
 */
export function graphArgs(o: { file: string; clientId: string; period: GraphPeriod; info: RrdInfo; units?: Readonly<Record<string, string>>; width?: number; height?: number; rrdcached?: string }): string[] {
  const p = GRAPH_PERIODS[o.period];
  const cf = o.info.cfs.includes('AVERAGE') ? 'AVERAGE' : (o.info.cfs[0] ?? 'AVERAGE');
  // DEF splits on ':'; a path holding one has it escaped.
  const file = o.file.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  // Through rrdcached, rrdtool flushes the file's pending updates before it reads.
  const args = ['graph', '-', ...(o.rrdcached ? ['--daemon', o.rrdcached] : []), '--imgformat', 'PNG', '--start', p.start, '--end', 'now', '--width', String(o.width ?? 640), '--height', String(o.height ?? 200), '--title', `${o.clientId}: ${p.title}`, '--slope-mode'];
  o.info.sources.forEach((s, i) => {
    const v = `v${i}`;
    const unit = unitOf(s.name, o.units).replace(/%/g, '%%').replace(/:/g, '\\:');
    const label = legendText(s.name).padEnd(14);
    args.push(
      `DEF:${v}=${file}:${s.name}:${cf}`,
      `LINE2:${v}#${GRAPH_COLOURS[i % GRAPH_COLOURS.length] as string}:${label}`,
      `GPRINT:${v}:LAST:last %8.2lf ${unit}`,
      `GPRINT:${v}:MIN:min %8.2lf ${unit}`,
      `GPRINT:${v}:MAX:max %8.2lf ${unit}\\l`,
    );
  });
  return args;
}

/** A data source name as legend text: rrdtool reads ':' and '\' there. */
function legendText(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}
