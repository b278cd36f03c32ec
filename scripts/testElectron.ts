// `npm run test:electron`: the same integration suite (test/suite) under @vscode/test-electron,
// which downloads a desktop VS Code from update.code.visualstudio.com -- for machines and CI with
// internet. Offline, use `npm run test:integration` (code-server), which runs the same suite.
// FFN_LENS_VSCODE_VERSION picks the version (default: stable). Linux without a display needs
// xvfb: `xvfb-run -a npm run test:electron`.
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import { runTests } from '@vscode/test-electron';
import { HarnessError, ROOT, SAMPLES, log, runMain } from './codeServer';
import { prepareSuite, printResults, readResults } from './runIntegration';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const runId = await prepareSuite(arg('--grep'));
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    log('no DISPLAY: Electron needs one on Linux; run under `xvfb-run -a npm run test:electron`');
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-electron-'));
  try {
    await runTests({
      version: process.env.FFN_LENS_VSCODE_VERSION ?? 'stable',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out', 'test', 'suite', 'index'),
      launchArgs: [SAMPLES, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--user-data-dir', userDataDir],
    });
  } catch (e) {
    const results = readResults(runId);
    if (results) return printResults(results, 'integration (electron)');
    const message = e instanceof Error ? e.message : String(e);
    throw new HarnessError(
      `@vscode/test-electron failed before the suite reported: ${message}\n` +
        'It downloads VS Code from the internet; offline, run `npm run test:integration` instead (same suite, code-server).',
    );
  } finally {
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  const results = readResults(runId);
  if (!results) throw new HarnessError('VS Code exited but the suite wrote no results (out/test/suite/results.json)');
  return printResults(results, 'integration (electron)');
}

runMain(main);
