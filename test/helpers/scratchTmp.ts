/**
 * Every test run gets one scratch folder as its TMPDIR, removed when the run ends, so the many
 * `mkdtemp(os.tmpdir())` fixtures of the suites (and the CLI and worker processes they start,
 * which inherit the environment) leave nothing behind in the machine's /tmp.
 * Used by the unit suite (unitTmp.ts) and by the integration and browser runners.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

let scratch: string | undefined;
let previous: string | undefined;

/** Points TMPDIR (and so `os.tmpdir()`) at a fresh folder; idempotent. */
export function enterScratchTmp(label: string): string {
  if (scratch) return scratch;
  previous = process.env.TMPDIR;
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), `ffn-lens-${label}-run-`));
  process.env.TMPDIR = scratch;
  return scratch;
}

/** Removes the scratch folder and restores TMPDIR. */
export function leaveScratchTmp(): void {
  if (!scratch) return;
  const dir = scratch;
  scratch = undefined;
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
