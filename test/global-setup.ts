import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeReaperDir, REAPER_ENV, reapAll } from './helpers/reaper.ts';

/**
 * The whole run: every real part a test starts is written down (helpers/reaper.ts), and whatever
 * is still running at the end is stopped and named, so a test that timed out in its hooks leaves
 * no carbon-cache or rrdcached behind.
 */
export default function setup(): () => void {
  const dir = join(tmpdir(), `rrduino-test-reaper-${process.pid}`);
  makeReaperDir(dir);
  process.env[REAPER_ENV] = dir;
  return () => {
    const left = reapAll(dir);
    if (left.length > 0) console.error(`test run teardown: stopped real parts a test left running:\n${left.join('\n')}`);
  };
}
