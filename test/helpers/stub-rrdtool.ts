import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A stand-in for `rrdtool -` that answers `OK` to every command and dies, without
 * answering, at a command containing `dieOn`: the first time only (`once`), or every
 * time. Every command it read is appended to its log, so a test sees what was retried.
 */
export async function stubRrdtool(
  dir: string,
  dieOn: string,
  mode: 'once' | 'always',
  extra: { trailer?: string; stderr?: string; errorOn?: string } = {},
): Promise<{ binary: string; commands: () => Promise<string[]> }> {
  const binary = join(dir, 'rrdtool-stub.sh');
  const log = join(dir, 'rrdtool-stub.log');
  const marker = join(dir, 'rrdtool-stub.died');
  const dies = mode === 'once' ? `if [ ! -e '${marker}' ]; then : > '${marker}'; exit 1; fi` : 'exit 1';
  await writeFile(
    binary,
    [
      '#!/bin/sh',
      ...(extra.stderr ? [`echo '${extra.stderr}' >&2`] : []),
      'while IFS= read -r line; do',
      `  printf '%s\\n' "$line" >> '${log}'`,
      `  case "$line" in *'${dieOn}'*) ${dies};; esac`,
      ...(extra.errorOn ? [`  case "$line" in *'${extra.errorOn}'*) echo 'ERROR: refused'; continue;; esac`] : []),
      "  echo 'OK u:0.00 s:0.00 r:0.00'",
      ...(extra.trailer ? [`  echo '${extra.trailer}'`] : []),
      'done',
      '',
    ].join('\n'),
  );
  await chmod(binary, 0o755);
  return { binary, commands: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}
