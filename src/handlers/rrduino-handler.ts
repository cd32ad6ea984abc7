import type { JSONSchemaType } from 'ajv';
import { isAbsolute, normalize, resolve, sep } from 'node:path';
import { ajv, describeSchemaError } from '../validation.ts';
import { ProfileError, errorCode, errorMessage } from '../errors.ts';
import { clip, parseUpdate, type SignedMessage } from '../protocol/message.ts';
import { VerifiedReading, type Reading } from '../reading.ts';
import { fillTemplate } from '../rrd/rrd-command.ts';
import { BaseHandler, type HandlerInit } from './base-handler.ts';
import type { HandlerDescription } from './handler-description.ts';

/** `handler_options` of an rrduino board (README, "Adding a board"). */
export interface RRDuinoOptions {
  /** The board's rrd file; relative paths resolve under the data dir. */
  path: string;
  /** `rrdtool create` arguments after the file name. */
  create: string[];
  /** Update template, e.g. `N:{temperature}`; `{name}` is the value sent as `name`. */
  update: string;
  /** Units of data sources for the graph legends (`{"temperature": "°C"}`). */
  units?: Record<string, string>;
}

// No blanks, quotes or line breaks: these strings go on an rrdtool command line.
const RRD_TOKEN = "^[^\\s'\"]+$";

export const rrduinoOptionsSchema: JSONSchemaType<RRDuinoOptions> = {
  type: 'object',
  required: ['path', 'create', 'update'],
  additionalProperties: false,
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 4096, pattern: "^[^\\r\\n\\0'\"]+\\.rrd$" },
    create: { type: 'array', minItems: 2, maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 512, pattern: RRD_TOKEN } },
    // {key} may name any key a board sends (docs/protocol.md, "Updates"), but for ':' that separates values.
    update: { type: 'string', minLength: 3, maxLength: 1024, pattern: '^(N|\\d+)(:(\\{[!-9;-z|~]{1,64}\\}|U|-?\\d+(\\.\\d+)?))+$' },
    units: { type: 'object', nullable: true, required: [], additionalProperties: { type: 'string', maxLength: 16 } },
  },
};

const validateShape = ajv.compile(rrduinoOptionsSchema);

/** The rrd step that `rrdtool create` arguments give (rrdtool's default: 300 s). */
function stepSecondsOf(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const inline = /^--step=(\d+)$/.exec(a);
    if (inline) return Number(inline[1]);
    if ((a === '--step' || a === '-s') && /^\d+$/.test(args[i + 1] ?? '')) return Number(args[i + 1]);
  }
  return 300;
}

/** The board's rrd file (relative paths are under the data dir). */
function rrdFileOf(options: RRDuinoOptions, dataDir: string): string {
  return isAbsolute(options.path) ? options.path : resolve(dataDir, options.path);
}

/** The key each value of an update template takes (`N:{temperature}:U` → temperature, undefined). */
function templateKeys(update: string): Array<string | undefined> {
  return update
    .split(':')
    .slice(1)
    .map((v) => /^\{(.+)\}$/.exec(v)?.[1]);
}

/**
 * Stores each verified `u` update in the board's rrd file, creating the file on the
 * first update, then hands the reading on to the destinations.
 */
export class RRDuinoHandler extends BaseHandler {
  protected readonly options: RRDuinoOptions;
  protected readonly rrdPath: string;
  /** Whether this session made sure the file exists: after that an update goes straight to the rrd. */
  #ensured = false;

  static override validateOptions(options: unknown): void {
    super.validateOptions(options);
    if (!validateShape(options)) {
      const { field, detail } = describeSchemaError(validateShape.errors, {
        under: '/handler_options',
        patternDetail: 'has characters or a form rrdtool cannot take',
      });
      throw new ProfileError('E_PROFILE_INVALID', `${field} ${detail}`, { field });
    }
    const o = options;
    if (!isAbsolute(o.path) && normalize(o.path).split(sep)[0] === '..') {
      throw new ProfileError(
        'E_PROFILE_INVALID',
        `/handler_options/path '${o.path}' leaves the data dir; use a path inside it, or an absolute path if the file belongs elsewhere`,
        { field: '/handler_options/path' },
      );
    }
    const dsCount = o.create.filter((a) => a.startsWith('DS:')).length;
    if (dsCount === 0 || !o.create.some((a) => a.startsWith('RRA:'))) {
      throw new ProfileError('E_PROFILE_INVALID', 'create needs at least one DS:… and one RRA:… definition', {
        field: '/handler_options/create',
      });
    }
    const valueCount = o.update.split(':').length - 1;
    if (valueCount !== dsCount) {
      throw new ProfileError(
        'E_PROFILE_INVALID',
        `update template has ${valueCount} value(s) but create defines ${dsCount} data source(s)`,
        { field: '/handler_options/update' },
      );
    }
  }

  static override describe(options: unknown, dataDir: string): HandlerDescription {
    const o = options as RRDuinoOptions;
    return {
      rrd: { file: rrdFileOf(o, dataDir), stepSeconds: stepSecondsOf(o.create), create: o.create, keys: templateKeys(o.update), units: o.units ?? {} },
    };
  }

  constructor(init: HandlerInit) {
    super(init);
    this.options = init.options as RRDuinoOptions;
    this.rrdPath = rrdFileOf(this.options, this.context.dataDir);
    this.registerMessageType('u', (m) => this.update(m), true);
  }

  /**
   * Handles `u k1 v1 [k2 v2 …]`: stored, then re-emitted. The HMAC verified, so nothing in
   * it ends the session: what cannot be read is U or ignored, with a warning.
   */
  protected update(message: SignedMessage): Promise<void> {
    const { values, warnings, repeatedKeys } = parseUpdate(message.body);
    const { context } = this;
    for (const w of warnings) {
      context.count(`errors.${w.code}`);
      if (context.mayLog(context.profileFile, w.code)) context.logger.warn({ code: w.code, field: clip(w.key) }, w.message);
    }
    if (repeatedKeys > 0) context.count('values.repeated');
    const reading = new VerifiedReading(this.clientId, context.now(), values);
    // store() never rejects: one reaction, not finally()'s three promises, at every update.
    return this.store(reading).then(() => context.publish(reading));
  }

  /** Writes one reading to the rrd; errors are logged and counted, never thrown. */
  protected store(reading: Reading): Promise<void> {
    const { context } = this;
    const { value, missing } = fillTemplate(this.options.update, reading.values);
    if (missing.length > 0) {
      context.count('errors.E_MISSING_FIELD');
      if (context.mayLog(context.profileFile, 'E_MISSING_FIELD')) context.logger.warn(
        { code: 'E_MISSING_FIELD', missing: missing.map(clip), profile: context.profileFile },
        `update lacks ${missing.map(clip).join(', ')} that the profile's update template needs; stored as U, the other values kept`,
      );
    }
    const { rrd } = context;
    const written = this.#ensured
      ? rrd.update(this.rrdPath, value, reading.timeMs)
      : rrd.ensure(this.rrdPath, this.options.create).then(() => {
          this.#ensured = true;
          return rrd.update(this.rrdPath, value, reading.timeMs);
        });
    return written.then(
      () => context.count('updates.stored'),
      (err: unknown) => {
        const code = errorCode(err);
        if (code === 'W_RRD_COALESCED') {
          // Not an error: the file holds an earlier reading of that second (docs/rrd.md).
          context.count('updates.coalesced');
          return;
        }
        context.count(`errors.${code}`);
        if (context.mayLog(this.rrdPath, code)) context.logger.error({ code, path: this.rrdPath }, `rrd update failed: ${errorMessage(err)}`);
      },
    );
  }
}
