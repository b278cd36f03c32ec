// Entry point of the integration suite inside the real extension host. The same contract as
// @vscode/test-electron (`run(): Promise<void>`), so one suite serves code-server and Electron.
//
// Results travel out of band through files next to this compiled module (out/test/suite/), since
// environment variables do not reliably reach the extension host:
//   run-options.json  written by the runner: { runId, grep? }
//   results.log       one line per test, appended as the suite runs (the runner streams it)
//   results.json      written once at the end: counts, titles, errors
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

/** What the runner reads from results.json. */
export interface SuiteResults {
  runId: string | null;
  passes: number;
  failures: number;
  pending: number;
  durationMs: number;
  tests: TestResult[];
}

export interface TestResult {
  title: string;
  fullTitle: string;
  file: string | undefined;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: { message: string; stack?: string };
}

const OPTIONS_FILE = path.join(__dirname, 'run-options.json');
const LOG_FILE = path.join(__dirname, 'results.log');
const RESULTS_FILE = path.join(__dirname, 'results.json');

/** Reads and removes the runner's options, so a later F5 run does not inherit an old --grep. */
function takeOptions(): { runId?: string; grep?: string } {
  try {
    const options = JSON.parse(fs.readFileSync(OPTIONS_FILE, 'utf8')) as { runId?: string; grep?: string };
    fs.rmSync(OPTIONS_FILE, { force: true });
    return options;
  } catch {
    return {};
  }
}

function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => f.endsWith('.test.js'))
    .sort();
}

function logLine(line: string): void {
  fs.appendFileSync(LOG_FILE, line + '\n');
}

export function run(): Promise<void> {
  const options = takeOptions();
  const runId = options.runId ?? null;
  fs.writeFileSync(LOG_FILE, `started ${runId ?? ''}\n`);
  fs.rmSync(RESULTS_FILE, { force: true });

  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 20_000, reporter: 'spec' });
  if (options.grep) mocha.grep(options.grep);
  for (const f of testFiles(__dirname)) mocha.addFile(f);

  const tests: TestResult[] = [];
  const started = Date.now();
  const record = (t: Mocha.Runnable, state: TestResult['state'], err?: Error): void => {
    const result: TestResult = {
      title: t.title,
      fullTitle: t.fullTitle(),
      file: t.file && path.relative(__dirname, t.file),
      state,
      durationMs: t.duration ?? 0,
    };
    if (err) result.error = { message: String(err.message ?? err), stack: err.stack };
    tests.push(result);
    const mark = state === 'passed' ? 'ok  ' : state === 'failed' ? 'FAIL' : 'skip';
    logLine(`${mark} ${result.fullTitle}${state === 'passed' ? ` (${result.durationMs}ms)` : ''}`);
  };

  return new Promise((resolve, reject) => {
    const finish = (loadError?: unknown): void => {
      const results: SuiteResults = {
        runId,
        passes: tests.filter((t) => t.state === 'passed').length,
        failures: tests.filter((t) => t.state === 'failed').length,
        pending: tests.filter((t) => t.state === 'pending').length,
        durationMs: Date.now() - started,
        tests,
      };
      if (loadError) {
        const e = loadError instanceof Error ? loadError : new Error(String(loadError));
        results.failures++;
        tests.push({ title: 'load', fullTitle: 'loading the test files', file: undefined, state: 'failed', durationMs: 0, error: { message: e.message, stack: e.stack } });
      }
      // write then rename, so the runner never reads half a file
      fs.writeFileSync(RESULTS_FILE + '.tmp', JSON.stringify(results, null, 2));
      fs.renameSync(RESULTS_FILE + '.tmp', RESULTS_FILE);
      if (results.failures > 0) reject(new Error(`${results.failures} test(s) failed`));
      else if (results.passes === 0) reject(new Error('no tests ran'));
      else resolve();
    };
    try {
      const runner = mocha.run(() => finish());
      runner.on('pass', (t) => record(t, 'passed'));
      runner.on('fail', (t, err: Error) => record(t, 'failed', err));
      runner.on('pending', (t) => record(t, 'pending'));
    } catch (e) {
      finish(e);
    }
  });
}
