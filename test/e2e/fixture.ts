// Shared fixture for the browser specs (test/e2e/*.spec.ts). scripts/runE2E.ts starts one
// code-server with the extension loaded (no test payload) on samples/ and one headless chromium,
// then runs mocha over the specs in this same Node process. A spec opens a fresh workbench window
// with `openWorkbench()` and drives it through playwright-core's Page.
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, BrowserContext, Frame, Locator, Page } from 'playwright-core';
import { CodeServer, ROOT, SAMPLES, launchChromium, sleep, startCodeServer } from '../../scripts/codeServer';

export { SAMPLES };
export type { Frame, Locator, Page };

/** Where `screenshot()` always writes (gitignored). */
export const RESULTS_DIR = path.join(ROOT, 'test-results', 'screenshots');
/** Where `screenshot(name, { docs: true })` also writes when run with `--docs-screenshots`. */
export const DOCS_DIR = path.join(ROOT, 'docs', 'screenshots');

let server: CodeServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let current: Page | undefined;
let consoleLines: string[] = [];
let writeDocs = false;

/** Starts code-server and chromium once for the whole run (called by scripts/runE2E.ts). */
export async function startE2E(opts: { docsScreenshots?: boolean } = {}): Promise<void> {
  writeDocs = !!opts.docsScreenshots;
  server = await startCodeServer();
  browser = await launchChromium();
}

/** Stops the browser and code-server (also done on exit/Ctrl-C by the harness). */
export async function stopE2E(): Promise<void> {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await server?.stop();
  context = browser = server = current = undefined;
}

/** The page of the window opened last by `openWorkbench()`. */
export function page(): Page {
  if (!current) throw new Error('no workbench open: call `await openWorkbench()` first (in before() or the test)');
  return current;
}

/**
 * Opens a fresh workbench window (new browser context, so no state leaks between specs) on
 * samples/ with the extension under development, and waits until the explorer lists files.
 * The extension host starts with the window; it activates the extension per its activationEvents.
 */
export async function openWorkbench(opts: { folder?: string; timeoutMs?: number } = {}): Promise<Page> {
  if (!server || !browser) throw new Error('the e2e environment is not started: run the specs with `npm run test:e2e`');
  await context?.close().catch(() => undefined);
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  current = await context.newPage();
  consoleLines = [];
  current.on('console', (m) => pushConsole(`${m.type()}: ${m.text()}`));
  current.on('pageerror', (e) => pushConsole(`pageerror: ${e.message}`));
  const folder = opts.folder ?? SAMPLES;
  await current.goto(server.workbenchUrl({ folder, extensionDevelopmentPath: ROOT }));
  await waitOrExplain(
    current.locator('.explorer-folders-view .monaco-list-row').first(),
    opts.timeoutMs ?? 90_000,
    `the workbench did not list ${folder} in the explorer`,
  );
  return current;
}

function pushConsole(line: string): void {
  consoleLines.push(line);
  if (consoleLines.length > 200) consoleLines.shift();
}

/**
 * Waits for the readiness signal of FFN Lens: its status bar item (id `ffn-lens.ffn-lens.*`, or
 * text containing "FFN Lens"), which the extension shows once its features have loaded (on first
 * use: a command, a JSON file, the weight viewer).
 */
export async function waitForExtensionActivated(timeoutMs = 90_000): Promise<Locator> {
  const items = page().locator('#workbench\\.parts\\.statusbar .statusbar-item');
  const item = items.and(page().locator('[id^="ffn-lens.ffn-lens"]')).or(items.filter({ hasText: 'FFN Lens' })).first();
  await waitOrExplain(item, timeoutMs, 'FFN Lens did not show its status bar item (did activate() run? see the extension host log)');
  return item;
}

/** The explorer row whose file or folder name is exactly `name`. */
export function explorerRow(name: string): Locator {
  return page()
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page().locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });
}

/**
 * Right-clicks `file` in the explorer and returns the context menu's item `name` once shown. The
 * explorer lists files before the workbench has read the extensions' contributions (at most the
 * extension's entry has run, for the walkthrough's first-run check in samples/), so a menu opened
 * that early lacks the item: close it and open it again, for up to `timeoutMs`.
 */
export async function explorerMenuItem(file: string, name: string, timeoutMs = 90_000): Promise<Locator> {
  const row = explorerRow(file);
  await row.waitFor({ timeout: 30_000 });
  const item = page().getByRole('menuitem', { name });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 5_000 });
      return item;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the explorer's menu on ${file} never showed "${name}": ${e instanceof Error ? e.message : String(e)}`);
      await page().keyboard.press('Escape');
    }
  }
}

/**
 * Right-click `file` in the explorer and choose `name`. A click that lands while the menu is still
 * settling can be lost (the menu stays open): then the highlighted item is chosen with Enter.
 */
export async function chooseExplorerMenu(file: string, name: string): Promise<void> {
  const item = await explorerMenuItem(file, name);
  await item.click();
  const menu = page().getByRole('menu');
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await menu.waitFor({ state: 'hidden', timeout: 3_000 });
      return;
    } catch {
      await item.hover();
      await page().keyboard.press('Enter');
    }
  }
}

/**
 * Runs a command by its palette title (e.g. "FFN Lens: Open Layer") through the command palette
 * of `p` (default: the window opened last by `openWorkbench()`; bench/ui.ts passes its own).
 */
export async function runCommand(title: string, p: Page = page()): Promise<void> {
  const row = p.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  // The palette closes when focus moves (a notification arriving, a menu closing under load), at
  // any step from opening it to clicking the command: start over rather than fail on the first try.
  for (let attempt = 1; ; attempt++) {
    try {
      await p.keyboard.press('F1');
      const input = p.locator('.quick-input-widget input');
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${title}`, { timeout: 10_000 });
      await row.click({ timeout: 10_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw new Error(`could not run "${title}" from the command palette in 3 tries: ${e instanceof Error ? e.message : String(e)}`);
      await p.keyboard.press('Escape');
    }
  }
}

/**
 * The document of a webview panel: walks `page().frames()` (webviews live in nested iframes)
 * until one satisfies `match` -- a CSS selector present in the frame, or a predicate.
 */
export async function webviewFrame(
  match: string | ((frame: Frame) => boolean | Promise<boolean>),
  timeoutMs = 60_000,
): Promise<Frame> {
  const test = typeof match === 'string' ? async (f: Frame) => (await f.locator(match).count()) > 0 : match;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page().frames()) {
      if (frame === page().mainFrame() || frame.isDetached()) continue;
      if (await Promise.resolve(test(frame)).catch(() => false)) return frame;
    }
    if (Date.now() > deadline) {
      const urls = page().frames().map((f) => `  ${f.url().slice(0, 140)}`).join('\n');
      throw new Error(`no webview frame matched ${typeof match === 'string' ? match : 'the predicate'} within ${timeoutMs}ms; frames:\n${urls}`);
    }
    await sleep(250);
  }
}

/**
 * Saves a PNG of the whole window to test-results/screenshots/<name>.png, and with
 * `{ docs: true }` also to docs/screenshots/<name>.png when the run was asked to
 * (`npm run test:e2e -- --docs-screenshots`). Returns the paths written.
 */
export async function screenshot(name: string, opts: { docs?: boolean } = {}): Promise<string[]> {
  const file = `${name.replace(/[^\w.-]+/g, '-')}.png`;
  const dirs = [RESULTS_DIR, ...(opts.docs && writeDocs ? [DOCS_DIR] : [])];
  const png = await page().screenshot();
  return dirs.map((dir) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, file), png);
    return path.join(dir, file);
  });
}

/** Browser console lines of the current window (last 200), for failure messages. */
export function browserConsole(): readonly string[] {
  return consoleLines;
}

async function waitOrExplain(locator: Locator, timeoutMs: number, why: string): Promise<void> {
  try {
    await locator.waitFor({ timeout: timeoutMs });
  } catch {
    const errors = consoleLines.filter((l) => /^(error|pageerror)/.test(l)).slice(-15).join('\n');
    throw new Error(`${why} (waited ${timeoutMs / 1000}s)${errors ? `\nbrowser console errors:\n${errors}` : ''}`);
  }
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Mocha root hooks: a screenshot of every failed test, and the server logs on failure. */
export const mochaHooks = {
  async afterEach(this: Mocha.Context): Promise<void> {
    const test = this.currentTest;
    if (test?.state !== 'failed' || !current) return;
    const shot = await screenshot(`FAILED-${test.fullTitle()}`).catch(() => []);
    if (shot.length) console.log(`      screenshot: ${path.relative(ROOT, shot[0])}`);
  },
};

/** code-server's output and the extension host log, for a failure report. */
export function serverDiagnostics(): string {
  return server?.diagnostics() ?? '';
}
