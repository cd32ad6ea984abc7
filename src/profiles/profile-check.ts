import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../errors.ts';
import { parseRrdInfo } from '../rrd/rrd-info.ts';
import { describeProfile, type Profile } from './profile-store.ts';

const run = promisify(execFile);

/** Something `check` found in a profile that loads: an error fails `check`, a warning does not. */
export interface ProfileFinding {
  readonly level: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
}

/**
 * What rrdtool and the gateway will make of a profile whose handler describes an rrd file,
 * found before a board sends: its `create` arguments are given to rrdtool itself in
 * `scratchDir` (its own words come back as the error), and the keys the handler stores are
 * checked against the data sources rrdtool made.
 */
export async function checkRrdProfile(p: Profile, scratchDir: string, rrdtool = 'rrdtool'): Promise<ProfileFinding[]> {
  const rrd = describeProfile(p, scratchDir).rrd;
  if (rrd === undefined) return [];
  const file = join(scratchDir, `${p.clientId.replace(/[^A-Za-z0-9._-]/g, '_')}-${Date.now()}.rrd`);
  try {
    await run(rrdtool, ['create', file, ...rrd.create]);
  } catch (err) {
    const words = (err as { stderr?: string }).stderr?.trim().replace(/^ERROR:\s*/, '') || errorMessage(err);
    return [{ level: 'error', code: 'E_PROFILE_RRD', message: `${p.file}: rrdtool refuses /handler_options/create: ${words}` }];
  }
  const infoText = (await run(rrdtool, ['info', file])).stdout;
  const info = parseRrdInfo(infoText);
  const findings: ProfileFinding[] = [];
  for (const m of infoText.matchAll(/(?:^|\n)ds\[([^\]]+)\]\.minimal_heartbeat = (\d+)/g)) {
    const hb = Number(m[2]);
    if (hb < info.step) {
      findings.push({
        level: 'warning',
        code: 'W_HEARTBEAT',
        message: `${p.file}: data source ${m[1] as string} has a heartbeat of ${hb} s, shorter than the step of ${info.step} s: rrdtool will store every value as unknown (-nan). Make the heartbeat at least the step (2 × step is usual)`,
      });
    }
  }
  const names = info.sources.map((s) => s.name);
  (rrd.keys ?? []).forEach((key: string | undefined, i: number) => {
    const into = names[i];
    if (key === undefined || into === undefined || key === into) return;
    if (names.includes(key)) {
      findings.push({
        level: 'error',
        code: 'E_PROFILE_TEMPLATE',
        message: `${p.file}: /handler_options/update stores {${key}} into data source ${into} (values go to data sources in order): put {${key}} at position ${names.indexOf(key) + 1}, where data source ${key} is`,
      });
    } else {
      findings.push({
        level: 'warning',
        code: 'W_TEMPLATE_NAME',
        message: `${p.file}: /handler_options/update stores the board's '${key}' into data source ${into}; fine if the board sends '${key}', else name the key the board sends`,
      });
    }
  });
  return findings;
}
