/**
 * What a handler stores, as the rest of the gateway needs to know it without knowing the
 * handler: the silence warning (the step), the status page (file, units), `list` (file) and
 * `check` (the `create` arguments rrdtool is asked to try). A handler class answers it from a
 * profile's `handler_options` through its static `describe`.
 */
export interface HandlerDescription {
  /** The rrd file the handler writes for the board, if it writes one. */
  readonly rrd?: RrdDescription;
}

export interface RrdDescription {
  /** Absolute path of the file. */
  readonly file: string;
  /** Seconds per rrd step: a board not heard for 3 of them is reported silent. */
  readonly stepSeconds: number;
  /** `rrdtool create` arguments after the file name: `check` has rrdtool make a scratch file from them. */
  readonly create: readonly string[];
  /**
   * The board's key stored into each data source, in the order of the data sources (undefined
   * for a position the board does not fill); `check` compares them with the names rrdtool made.
   * Absent: not checked.
   */
  readonly keys?: ReadonlyArray<string | undefined>;
  /** Unit by data source name, for the graphs. */
  readonly units: Readonly<Record<string, string>>;
}
