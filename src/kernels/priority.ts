/**
 * Lower the calling thread's scheduling priority, so compute threads yield the CPU to the
 * extension host's thread when they compete for it. No `vscode` import.
 *
 * Only on Linux, where the nice value belongs to a thread: there `setpriority(PRIO_PROCESS, 0)`
 * (what `os.setPriority(0, n)` calls) changes the calling thread alone. On macOS and Windows it
 * would change the whole process, extension host included, so nothing is done there.
 */
import * as os from 'os';

export function lowerThreadPriority(nice: number): boolean {
  if (process.platform !== 'linux' || !(nice > 0)) return false;
  try {
    os.setPriority(0, Math.min(19, Math.round(nice)));
    return true;
  } catch {
    return false;
  }
}

/** The same, as source for the helper threads' eval'd code (they cannot import modules from the bundle). */
export const LOWER_PRIORITY_SOURCE = `(nice) => {
  if (process.platform !== 'linux' || !(nice > 0)) return;
  try { require('os').setPriority(0, Math.min(19, Math.round(nice))); } catch {}
}`;
