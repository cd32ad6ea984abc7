import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT, SERVER_JS } from './repo.ts';

const execFileP = promisify(execFile);

/** `node dist/server.js <args>` from the repository root: its exit code and output. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [SERVER_JS, ...args], { cwd: REPO_ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
