// `npm run test:e2e [-- --grep <text>] [-- --docs-screenshots]`: builds the extension, starts
// code-server on samples/ with the extension loaded and a headless chromium, then runs mocha over
// test/e2e/*.spec.ts in this process; specs drive the workbench through test/e2e/fixture.ts.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';
import { serverDiagnostics, mochaHooks, startE2E, stopE2E } from '../test/e2e/fixture';
import { ROOT, build, log, runMain } from './codeServer';
import { enterScratchTmp, leaveScratchTmp } from '../test/helpers/scratchTmp';

const SPECS = path.join(ROOT, 'test', 'e2e');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  await build();
  const specs = fs.readdirSync(SPECS).filter((f) => f.endsWith('.spec.ts')).sort();
  if (specs.length === 0) {
    console.error('e2e: no test/e2e/*.spec.ts files');
    return 1;
  }
  await startE2E({ docsScreenshots: process.argv.includes('--docs-screenshots') });
  log(`code-server and chromium up after ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  // Specs take tens of seconds on 2 cores (a workbench load is ~10-25s); a hang still fails.
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, reporter: 'spec', color: !!process.stdout.isTTY, rootHooks: mochaHooks });
  const grep = arg('--grep');
  if (grep) mocha.grep(grep);
  for (const f of specs) mocha.addFile(path.join(SPECS, f));

  const failed: string[] = [];
  const stats = await new Promise<Mocha.Stats>((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats!));
    runner.on('fail', (test, err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      failed.push(`  ${test.fullTitle()}\n    ${message.split('\n').slice(0, 12).join('\n    ')}`);
    });
  });
  const passes = stats.passes;
  const failures = stats.failures;
  if (failures > 0) console.error(`\n${serverDiagnostics()}`);
  await stopE2E();
  // Last, so that a log showing only its tail (CI) still says what failed.
  if (failed.length) console.error(`\ne2e failures:\n${failed.join('\n')}`);
  console.log(`\ne2e: ${passes} passed, ${failures} failed (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (passes + failures === 0) {
    console.error('e2e: no tests ran (does --grep match any?)');
    return 1;
  }
  return failures > 0 ? 1 : 0;
}

// Fixtures, code-server's data and the extension's temp copies go to one folder removed at exit.
enterScratchTmp('e2e');
process.on('exit', leaveScratchTmp);
runMain(main);
