import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rrduinoProfile, tempDir, writeProfileFile } from '../helpers/fixtures.ts';
import { cli } from '../helpers/cli.ts';

// `check` as operators run it, against profiles rrdtool refuses and configs with mistakes.

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** A profile whose `create` is `args`, and whose template fills as many values. */
function withCreate(args: string[], update = 'N:{temperature}'): object {
  const p = rrduinoProfile() as { handler_options: { create: string[]; update: string } };
  p.handler_options.create = args;
  p.handler_options.update = update;
  return p;
}

describe('check', { timeout: 30_000 }, () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['a misspelt DS type (GUAGE)', ['--step', '60', 'DS:temperature:GUAGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], /invalid DS type specified \(GUAGE\)/],
    ['min above max', ['--step', '60', 'DS:temperature:GAUGE:120:110:-50', 'RRA:AVERAGE:0.5:1:10'], /min must be less than max/],
    ['a misspelt consolidation function (AVERGE)', ['--step', '60', 'DS:temperature:GAUGE:120:U:U', 'RRA:AVERGE:0.5:1:10'], /Unrecognized consolidation function AVERGE/],
    ['a DS name of 20 characters', ['--step', '60', 'DS:temperature_outside1:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], /invalid DS format/],
  ];
  for (const [what, args, words] of refused) {
    it(`rejects a profile with ${what}, in rrdtool's own words`, async () => {
      await writeProfileFile(dir, 'shed', withCreate(args));
      await writeProfileFile(dir, 'good', rrduinoProfile());
      const r = await cli(['check', '--profiles', dir]);
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(new RegExp(`error\\s+E_PROFILE_RRD: .*shed\\.json: rrdtool refuses /handler_options/create: .*${words.source}`));
      expect(r.stdout).toMatch(/ok\s+good/);
    });
  }

  it('rejects a template that puts values into the wrong data sources', async () => {
    await writeProfileFile(dir, 'shed', withCreate(['--step', '60', 'DS:temperature:GAUGE:120:U:U', 'DS:humidity:GAUGE:120:U:U', 'RRA:AVERAGE:0.5:1:10'], 'N:{humidity}:{temperature}'));
    const r = await cli(['check', '--profiles', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/E_PROFILE_TEMPLATE: .*stores \{humidity\} into data source temperature/);
  });

  it('warns when a heartbeat is shorter than the step, and create refuses to write one', async () => {
    await writeProfileFile(dir, 'shed', withCreate(['--step', '60', 'DS:temperature:GAUGE:5:U:U', 'RRA:AVERAGE:0.5:1:10']));
    const r = await cli(['check', '--profiles', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning W_HEARTBEAT: .*heartbeat of 5 s, shorter than the step of 60 s/);
    const c = await cli(['create', 'porch', '--profiles', dir, '--heartbeat', '5', '--step', '60']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--heartbeat 5 is shorter than --step 60');
  });

  it('gives line and column for a JSON syntax error in a profile', async () => {
    await writeFile(join(dir, 'shed.json'), '{\n  "key": "0123456789abcdef",\n  "handler_options": {\n    "path": "x.rrd"\n    "create": []\n  }\n}\n');
    const r = await cli(['check', '--profiles', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/shed\.json:5:5: JSON: comma expected/);
  });
});

describe('check --config', { timeout: 30_000 }, () => {
  async function config(text: string): Promise<string> {
    const file = join(dir, 'gateway.json');
    await writeFile(file, text);
    return file;
  }

  it('passes a good config with its profiles, and names what it checked', async () => {
    await writeProfileFile(join(dir, 'profiles'), 'shed', rrduinoProfile('0123456789abcdef'));
    const r = await cli(['check', '--config', await config(JSON.stringify({ profiles: join(dir, 'profiles'), idleTimeout: 3600, http: false }))]);
    expect(r.stdout).toMatch(/ok\s+shed/);
    expect(r.code).toBe(0);
  });

  it('says "did you mean" for a misspelt field', async () => {
    const r = await cli(['check', '--config', await config('{ "profile": "profiles" }')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has unknown field 'profile' (did you mean 'profiles'?)");
  });

  it('lists the allowed values of an enum', async () => {
    const r = await cli(['check', '--config', await config('{ "logLevel": "loud" }')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/logLevel must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"/);
  });

  it('gives line and column for a JSON syntax error, and takes comments', async () => {
    const r = await cli(['check', '--config', await config('{\n  // the port boards use\n  "port": 60405,\n  "host": "0.0.0.0"\n  "data": "data"\n}\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gateway\.json:5:3: JSON: comma expected/);
  });

  it('names the allowed destination types for an unknown one', async () => {
    const r = await cli(['check', '--config', await config('{ "destinations": [{ "type": "influxdb" }] }')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/destinations\/0\/type must be one of graphite, .*dalmatinerdb.*gottwall.* \(got "influxdb"\)/);
  });

  it('fails on a profile the config names that rrdtool refuses', async () => {
    await writeProfileFile(join(dir, 'profiles'), 'shed', withCreate(['--step', '60', 'DS:temperature:GUAGE:120:U:U', 'RRA:AVERAGE:0.5:1:10']));
    const r = await cli(['check', '--config', await config(JSON.stringify({ profiles: join(dir, 'profiles') }))]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('invalid DS type specified (GUAGE)');
  });
});
