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

/**
 * The one creation of `path` under way or done, from `ready`; started with `create` when there is
 * none. A creation that fails is forgotten, so the next update tries again.
 */
export function ensureOnce(ready: Map<string, Promise<void>>, path: string, create: () => Promise<void>): Promise<void> {
  let done = ready.get(path);
  if (done === undefined) {
    done = create();
    ready.set(path, done);
    done.catch(() => ready.delete(path));
  }
  return done;
}
