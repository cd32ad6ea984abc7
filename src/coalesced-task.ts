/**
 * A task that runs one at a time: a request while it runs is never dropped but folded into one
 * more run after it (however many came), which sees everything the requests asked for. For
 * SIGHUP: an operator who edits two files and signals twice gets both.
 */
export function coalescedTask(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  const start = (): Promise<void> => {
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  };
  return () => {
    if (running === undefined) return start();
    const next = (): Promise<void> => {
      again = undefined;
      return start();
    };
    again ??= running.then(next, next);
    return again;
  };
}
