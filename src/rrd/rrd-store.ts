/**
 * What a handler may do with rrd files (HandlerContext.rrd). The gateway's RrdService is one;
 * in a session worker (`serve --workers`) it is a stand-in that asks the primary process,
 * which owns the files.
 */
export interface RrdStore {
  /** Creates `path` from `createArgs` (rrdtool create arguments after the file name) unless it exists. */
  ensure(path: string, createArgs: readonly string[]): Promise<void>;
  /** `rrdtool update path value`; an `N:` value is stamped with `timeMs`. Rejects with an RrdError. */
  update(path: string, value: string, timeMs?: number): Promise<void>;
}
