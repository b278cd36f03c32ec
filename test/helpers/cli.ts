/**
 * The BUILT command line, spawned as scripts spawn it. The bundle is rebuilt once per mocha
 * process, so a test file also runs on its own.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Runs `node esbuild.js` once per process; throws when dist/cli.js did not come out fresh. */
export function buildCliOnce(): void {
  const g = globalThis as { __ffnLensCliBuilt?: boolean };
  if (g.__ffnLensCliBuilt) return;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['esbuild.js'], { cwd: ROOT, encoding: 'utf8' });
  // Another bundle (webview, worker) failing to build must not hide a fresh dist/cli.js.
  const fresh = fs.existsSync(CLI) && fs.statSync(CLI).mtimeMs >= started - 1000;
  if (!fresh) throw new Error(`building dist/cli.js failed:\n${r.stderr}`);
  g.__ffnLensCliBuilt = true;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` and returns its exit status and output. */
export function runCli(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
