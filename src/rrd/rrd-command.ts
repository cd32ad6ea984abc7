import { RrdError } from '../errors.ts';

// rrdtool's pipe mode splits a command line on blanks and honours '…' and "…"
// quoting, with no escapes: an argument can hold blanks (then we quote it) but
// never a quote character or a line break.
const FORBIDDEN = /['"\r\n\0]/;

/** Whether `arg` can go on a command line as it is: not empty, no quote, whitespace or NUL (so nothing {@link formatCommand} would quote or refuse). */
export function isBareArgument(arg: string): boolean {
  return arg.length > 0 && !/['"\s\0]/.test(arg);
}

/** Formats one `rrdtool -` command line (without the newline). Pure. */
export function formatCommand(args: readonly string[]): string {
  if (args.length === 0) throw new RrdError('E_RRD_BAD_ARG', 'an rrdtool command needs at least one argument');
  return args
    .map((arg) => {
      if (arg.length === 0) throw new RrdError('E_RRD_BAD_ARG', 'rrdtool arguments must not be empty');
      if (FORBIDDEN.test(arg)) {
        throw new RrdError('E_RRD_BAD_ARG', `rrdtool argument ${JSON.stringify(arg.slice(0, 40))} contains a quote or line break`);
      }
      return /[ \t]/.test(arg) ? `'${arg}'` : arg;
    })
    .join(' ');
}

/** How one line of `rrdtool -` output ends (or does not end) a reply. */
export type ReplyLine = { kind: 'ok' } | { kind: 'error'; message: string } | { kind: 'data'; text: string };

/**
 * Classifies a line of pipe-mode output. Replies end with `OK u:… s:… r:…` or
 * `ERROR: …`; everything before is the command's output. A blank or unknown command prints the usage and then `OK`, and rrdtool's exit code is always 0, so replies are parsed strictly.
 */
export function classifyReplyLine(line: string): ReplyLine {
  if (line === 'OK' || line.startsWith('OK u:')) return { kind: 'ok' };
  if (line.startsWith('ERROR:')) return { kind: 'error', message: line.slice(6).trim() };
  return { kind: 'data', text: line };
}

/** The last update of an rrd file, as `rrdtool lastupdate` reports it. */
export interface LastUpdate {
  time: Date;
  /** Data source → the value as rrdtool prints it (`U` for unknown). */
  values: Record<string, string>;
}

/** Parses `rrdtool lastupdate` output (" ds1 ds2", "", "<time>: v1 v2"); undefined without a data line. Pure. */
export function parseLastUpdate(lines: readonly string[]): LastUpdate | undefined {
  const names = (lines[0] ?? '').trim().split(/\s+/);
  const last = lines.find((l) => /^\d+:/.test(l));
  if (last === undefined) return undefined;
  const [time, ...values] = last.replace(':', '').trim().split(/\s+/);
  const out: Record<string, string> = {};
  names.forEach((name, i) => (out[name] = values[i] ?? 'U'));
  return { time: new Date(Number(time) * 1000), values: out };
}

/**
 * Substitutes `{key}` placeholders of an update template with reading values. A key the
 * reading lacks becomes `U` and is listed in `missing`.
 */
export function fillTemplate(template: string, values: ReadonlyMap<string, number | null>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = template.replace(/\{([^{}]+)\}/g, (_m, key: string) => {
    const v = values.get(key);
    if (v === undefined) missing.push(key);
    return v === null || v === undefined ? 'U' : formatRrdNumber(v);
  });
  return { value, missing };
}

// Number#toString never gives a form rrdtool's strtod misreads, but 1e21 and up
// come out as '1e+21', which strtod reads fine; keep it as is.
function formatRrdNumber(value: number): string {
  return String(value);
}
