// What a person sees: right-click a weight JSON in the explorer, "Explore FFN Layer", the panel
// draws its charts (a non-blank heatmap with the token labels); hovering a tensor in the editor
// shows its statistics; a JSON without a layer gets a notification, not a panel.
// `npm run test:e2e -- --docs-screenshots` also writes docs/screenshots/panel.png and hover.png.
import * as assert from 'assert';
import type { Frame, Locator } from './fixture';
import { browserConsole, chooseExplorerMenu, explorerRow, openWorkbench, page, runCommand, screenshot, waitForExtensionActivated, webviewFrame } from './fixture';

/** Right-click `file` in the explorer and choose Explore FFN Layer. */
async function exploreFromExplorer(file: string): Promise<void> {
  await chooseExplorerMenu(file, 'Explore FFN Layer');
}

/** Opens the notification centre (the status bar's bell) until `entry` shows in it; 45 s at most. */
async function showNotification(entry: Locator): Promise<void> {
  const center = page().locator('.notifications-center.visible');
  const bell = page().locator('#status\\.notifications');
  for (let attempt = 1; ; attempt++) {
    if (!(await center.isVisible())) await bell.click({ timeout: 10_000 });
    try {
      await entry.waitFor({ timeout: 15_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw new Error(`the notification centre did not list the message in 3 tries: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The panel's document once its charts are drawn for `layer`. */
async function readyPanel(layer: string): Promise<Frame> {
  return webviewFrame(async (f) => (await f.locator(`body[data-ready="true"][data-layer="${layer}"]`).count()) > 0, 90_000);
}

describe('FFN Lens: explore a layer from the explorer', () => {
  // The extension's features are not loaded yet (in samples/ only its entry runs at start-up, for
  // the walkthrough's first-run check, and the harness's profile turns the walkthrough off): they
  // load on the explorer command itself, as for someone right-clicking a file in a fresh window.
  before(async () => {
    await openWorkbench();
  });

  it('right-click gpt2-small.json -> Explore FFN Layer opens the panel with drawn charts', async () => {
    await exploreFromExplorer('gpt2-small.json');
    const frame = await readyPanel('h.0.mlp');
    await waitForExtensionActivated(10_000);
    const body = frame.locator('body');
    assert.strictEqual(await body.getAttribute('data-tokens'), '6');
    assert.strictEqual(await body.getAttribute('data-activation'), 'gelu_tanh');
    // the token labels beside the heatmap
    const labels = await frame.locator('.token-labels li').allTextContents();
    assert.deepStrictEqual(labels, ['The', '·cat', '·sat', '·on', '·the', '·mat']);
    // the heatmap canvas has pixels that are not the background
    const drawn = await frame.locator('canvas.heatmap-canvas').evaluate((c: HTMLCanvasElement) => {
      const ctx = c.getContext('2d');
      if (!ctx || !c.width || !c.height) return 0;
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 7) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return colours.size;
    });
    assert.ok(drawn > 20, `the heatmap looks blank (${drawn} colours)`);
    // every chart.js canvas got a size and content
    const charts = await frame.locator('.chart-box canvas').evaluateAll((cs: HTMLCanvasElement[]) =>
      cs.filter((c) => c.width > 0 && c.height > 0 && c.offsetParent !== null).length,
    );
    assert.ok(charts >= 5, `only ${charts} charts are drawn`);
    assert.match(await frame.locator('.big-number').innerText(), /% of hidden activations silenced/);
    const csp = browserConsole().filter((l) => /Content Security Policy|Refused to/i.test(l));
    assert.deepStrictEqual(csp, [], 'the panel broke its content security policy');
    await screenshot('panel', { docs: true });
  });

  it('re-runs another layer from the panel controls', async () => {
    const frame = await readyPanel('h.0.mlp');
    await frame.locator('#ctl-layer').selectOption('h.1.mlp');
    await frame.locator('#ctl-inputs').selectOption('random');
    await frame.locator('#ctl-tokens').fill('12');
    await frame.getByRole('button', { name: 'Run' }).click();
    const again = await readyPanel('h.1.mlp');
    assert.strictEqual(await again.locator('body').getAttribute('data-tokens'), '12');
    assert.strictEqual(await again.locator('.token-labels li').count(), 12);
  });

  it('zooms the unit axis and follows a theme change', async () => {
    const frame = await readyPanel('h.1.mlp');
    const range = frame.locator('.heatmap .range');
    assert.match(await range.innerText(), /units 0–127 of 128/);
    await frame.getByRole('button', { name: '+' }).click();
    await frame.waitForFunction(() => /units 32–95 of 128/.test(document.querySelector('.heatmap .range')?.textContent ?? ''), undefined, { timeout: 15_000 });
    const corner = () =>
      frame.locator('canvas.heatmap-canvas').evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')?.getImageData(0, 0, 1, 1).data ?? []).join(','));
    const legendBefore = await frame.locator('canvas.legend').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    const before = await corner();
    await runCommand('Preferences: Toggle between Light/Dark Themes');
    await frame.waitForFunction((old) => (document.querySelector('canvas.legend') as HTMLCanvasElement | null)?.toDataURL() !== old, legendBefore, { timeout: 20_000 });
    assert.notStrictEqual(await corner(), before, 'the heatmap kept the old theme colours');
    await screenshot('panel-other-theme', { docs: true });
    await runCommand('Preferences: Toggle between Light/Dark Themes');
  });

  it('hovers a tensor in the editor and shows its statistics', async () => {
    await explorerRow('tiny-relu.json').dblclick();
    const key = page().locator('.monaco-editor .view-lines span', { hasText: /^"W1"$/ }).first();
    await key.waitFor({ timeout: 30_000 });
    const hover = page().locator('.monaco-hover', { hasText: 'W1 of layer main' });
    for (let attempt = 0; attempt < 5 && !(await hover.isVisible()); attempt++) {
      await page().mouse.move(0, 0);
      await key.hover();
      await hover.waitFor({ timeout: 8_000 }).catch(() => undefined);
    }
    assert.ok(await hover.isVisible(), 'no FFN Lens hover over "W1"');
    const text = await hover.innerText();
    assert.match(text, /mean\s+0\.25/);
    assert.match(text, /max\s+2/);
    await screenshot('hover', { docs: true });
  });

  it('says what was expected for a JSON without an FFN layer, and opens no panel', async () => {
    await page().keyboard.press('Escape');
    const panelsBefore = await page().locator('.tab', { hasText: 'FFN Lens' }).count();
    await exploreFromExplorer('not-a-layer.json');
    // Toasts do not show in this headless workbench; the notification centre lists every message.
    // It is opened from the status bar's bell, not the command palette: the error arriving while
    // the palette is open takes its focus and closes it.
    const entry = page().locator('.notifications-center .notification-list-item', { hasText: 'no FFN layer found' }).first();
    await showNotification(entry);
    const text = await entry.innerText();
    assert.match(text, /not-a-layer\.json: no FFN layer found: expected W1\/W2/);
    assert.match(text, /Inspect Weight File/);
    assert.strictEqual(await page().locator('.tab', { hasText: 'FFN Lens' }).count(), panelsBefore);
  });
});
