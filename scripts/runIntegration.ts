// `npm run test:integration [-- --grep <text>]`: builds the extension, compiles test/suite to out/,
// starts code-server on samples/, opens the development payload (extension + test suite) in
// headless chromium and waits for test/suite/index.ts to report through out/test/suite/results.json.
// Exits non-zero on any failure, on a timeout and when no test ran.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { SuiteResults } from '../test/suite/index';
import { enterScratchTmp, leaveScratchTmp } from '../test/helpers/scratchTmp';
import { HarnessError, ROOT, SAMPLES, build, launchChromium, log, npmRun, runMain, sleep, startCodeServer } from './codeServer';

const SUITE_DIR = path.join(ROOT, 'out', 'test', 'suite');
const INDEX = path.join(SUITE_DIR, 'index.js');
const RESULTS = path.join(SUITE_DIR, 'results.json');
const PROGRESS = path.join(SUITE_DIR, 'results.log');
/** How long the suite may take once started (FFN_LENS_TEST_TIMEOUT, seconds). */
const SUITE_TIMEOUT_MS = Number(process.env.FFN_LENS_TEST_TIMEOUT ?? 300) * 1000;
/** How long the extension host may take to load the suite (a 2-core machine needs ~30s). */
const START_TIMEOUT_MS = 240_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Prints mocha's results the way the spec reporter would, then the closing count line. */
export function printResults(results: SuiteResults, label: string): number {
  const failed = results.tests.filter((t) => t.state === 'failed');
  failed.forEach((t, i) => {
    console.log(`\n  ${i + 1}) ${t.fullTitle}${t.file ? `  [${t.file}]` : ''}`);
    console.log(`     ${(t.error?.stack ?? t.error?.message ?? '').split('\n').join('\n     ')}`);
  });
  const pending = results.pending ? `, ${results.pending} pending` : '';
  console.log(`\n${label}: ${results.passes} passed, ${results.failures} failed${pending} (${(results.durationMs / 1000).toFixed(1)}s)`);
  if (results.failures > 0) return 1;
  if (results.passes === 0) {
    console.error(`${label}: no tests ran — are there test/suite/**/*.test.ts files (and does --grep match any)?`);
    return 1;
  }
  return 0;
}

/**
 * Builds dist/ and compiles the suite into out/test/suite (stale compiled tests removed first).
 * compile-tests bundles each test/suite file with esbuild (node_modules and vscode stay external):
 * fast, and a type error elsewhere in the project does not block the run (`npm run typecheck`
 * type-checks test/ too).
 */
export async function prepareSuite(grep?: string): Promise<string> {
  await build();
  const t = Date.now();
  fs.rmSync(SUITE_DIR, { recursive: true, force: true });
  await npmRun('compile-tests');
  if (!fs.existsSync(INDEX)) throw new HarnessError(`${INDEX} missing after compile-tests`);
  log(`compiled test/suite in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  const runId = randomUUID();
  fs.writeFileSync(path.join(SUITE_DIR, 'run-options.json'), JSON.stringify({ runId, grep }));
  return runId;
}

/** Reads results.json when it exists and belongs to this run. */
export function readResults(runId: string): SuiteResults | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as SuiteResults;
    return r.runId === runId ? r : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const runId = await prepareSuite(arg('--grep'));
  const server = await startCodeServer();
  log(`code-server ${server.url} (user data ${server.userDataDir})`);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    consoleLines.push(`${m.type()}: ${m.text()}`);
    if (consoleLines.length > 200) consoleLines.shift();
  });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

  const failWith = async (why: string): Promise<never> => {
    const shot = path.join(ROOT, 'test-results', 'screenshots', 'integration-failure.png');
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot }).catch(() => undefined);
    console.error(`\n--- browser console (last 40 lines) ---\n${consoleLines.slice(-40).join('\n')}`);
    console.error(server.diagnostics());
    throw new HarnessError(`${why}\nscreenshot of the workbench: ${path.relative(ROOT, shot)}`);
  };

  const url = server.workbenchUrl({ folder: SAMPLES, extensionDevelopmentPath: ROOT, extensionTestsPath: INDEX });
  log('opening the workbench with the test payload');
  await page.goto(url);

  const startDeadline = Date.now() + START_TIMEOUT_MS;
  let suiteDeadline = Infinity;
  let printed = 0;
  for (;;) {
    let progress = '';
    try {
      progress = fs.readFileSync(PROGRESS, 'utf8');
    } catch {
      // not started yet
    }
    if (progress.startsWith(`started ${runId}`) && suiteDeadline === Infinity) {
      log(`extension host started the suite after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      suiteDeadline = Date.now() + SUITE_TIMEOUT_MS;
    }
    const lines = progress.split('\n').slice(1, -1);
    for (; printed < lines.length; printed++) console.log(`  ${lines[printed]}`);
    const results = readResults(runId);
    if (results) {
      const code = printResults(results, 'integration');
      log(`integration run took ${((Date.now() - t0) / 1000).toFixed(1)}s in total`);
      return code;
    }
    if (suiteDeadline === Infinity && Date.now() > startDeadline) {
      await failWith(
        `the extension host did not start the test suite within ${START_TIMEOUT_MS / 1000}s ` +
          '(look for activation or module-load errors in the extension host log above)',
      );
    }
    if (Date.now() > suiteDeadline) {
      await failWith(`the suite did not finish within ${SUITE_TIMEOUT_MS / 1000}s (FFN_LENS_TEST_TIMEOUT raises it); a test is probably hanging`);
    }
    await sleep(300);
  }
}

if (require.main === module) {
  // Fixtures, code-server's data and the extension's temp copies go to one folder removed at exit.
  enterScratchTmp('integration');
  process.on('exit', leaveScratchTmp);
  runMain(main);
}
