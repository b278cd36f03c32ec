// What a person sees of a comparison (issue 14): a folder with two checkpoints of a tiny LLaMA
// (written here: `base`, and `finetuned` with block 1's FFN changed as a fine-tune would). Select
// both in the explorer, right-click -> Compare Checkpoints, accept the text the input box offers;
// the panel shows the error bars, the table of blocks and A's next tokens beside B's; clicking a
// block shows A's and B's hidden activations stacked with B − A under them.
// Then the case the issue names first, on the shipped trained sample: samples/llama-english (HF
// folder, F16) against its own Q8_0 and Q4_0 GGUF copies (interleaved RoPE q/k, quantised blocks).
// `npm run test:e2e -- --docs-screenshots` writes docs/screenshots/compare-panel.png and
// compare-heatmaps.png from the Q4_0 pair, and compare-weights.png (Compare Checkpoint Weights).
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { makeTinyModel, rng, writeHfFolder, type TinyModel } from '../helpers/tinyModels';
import type { Frame, Locator } from './fixture';
import { chooseExplorerMenu, escapeRegExp, explorerRow, openWorkbench, page, runCommand, screenshot, webviewFrame } from './fixture';
import { SAMPLES } from '../../scripts/codeServer';

const TEXT = 'hello world, hello whale, hello sea';

/** `model` with block `block`'s up projection moved by seeded noise (the other weights as they are). */
function fineTuned(model: TinyModel, block: number): TinyModel {
  const tensors = new Map(model.tensors);
  const name = `model.layers.${block}.mlp.up_proj.weight`;
  const t = model.tensors.get(name);
  assert.ok(t, name);
  const noise = rng(99);
  tensors.set(name, { shape: t.shape, data: t.data.map((x) => x + 0.15 * (noise() - 0.5)) });
  return { ...model, tensors };
}

/** How many colours a canvas shows (sampled): 1 is a blank one. */
async function colours(canvas: Locator): Promise<number> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d');
    if (!ctx || !c.width || !c.height) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

async function comparePanel(attrs = ''): Promise<Frame> {
  return webviewFrame(async (f) => (await f.locator(`body[data-ready="true"][data-view="compare"]${attrs}`).count()) > 0, 120_000);
}

/** Clicks block `block`'s button; the panel once its three heatmaps (A, B, B − A) are drawn, each with more than the background. */
async function clickBlock(block: number): Promise<Frame> {
  const frame = await comparePanel();
  await frame.getByRole('button', { name: `Block ${block}` }).click();
  const drawn = await comparePanel(`[data-compare-layer="${block}"][data-heatmaps="3"]`);
  const heat = drawn.locator('#compare-heatmaps canvas.heatmap-canvas');
  assert.strictEqual(await heat.count(), 3);
  for (let i = 0; i < 3; i++) assert.ok((await colours(heat.nth(i))) > 2, `heatmap ${i} is drawn`);
  return drawn;
}

/** The panel's title names the pair, in either order. */
function pairTitle(a: string, b: string): RegExp {
  const [x, y] = [escapeRegExp(a), escapeRegExp(b)];
  return new RegExp(`${x} ↔ ${y}|${y} ↔ ${x}`);
}

/**
 * Selects `a` then `b` (Ctrl-click) in the explorer, right-click -> Compare Checkpoints, accepts the
 * text the input box offers (asserted: `offered`), and returns the panel once it shows `blocks` blocks.
 */
async function compareFromExplorer(a: string, b: string, offered: string, blocks: number): Promise<Frame> {
  await explorerRow(a).click();
  await explorerRow(b).click({ modifiers: ['Control'] });
  await chooseExplorerMenu(b, 'Compare Checkpoints');
  const input = page().locator('.quick-input-widget input');
  await input.waitFor({ timeout: 30_000 });
  assert.strictEqual(await input.inputValue(), offered);
  await page().keyboard.press('Enter');
  // the panel may still show an earlier comparison: wait for this pair's
  const title = pairTitle(a, b);
  return webviewFrame(async (f) => {
    if ((await f.locator(`body[data-ready="true"][data-view="compare"][data-compare-blocks="${blocks}"]`).count()) === 0) return false;
    return title.test(await f.locator('header h1').innerText({ timeout: 1000 }));
  }, 120_000);
}

describe('FFN Lens: compare two checkpoints', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-e2e-compare-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    const { json, vocabSize } = byteBpeTokenizer();
    const base = makeTinyModel('llama', { seed: 5, layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize, maxPositions: 64 });
    for (const [name, model] of [['base', base], ['finetuned', fineTuned(base, 1)]] as const) {
      const folder = path.join(dir, name);
      fs.mkdirSync(folder);
      writeHfFolder(folder, model, { tokenizerJson: json, tokenizerConfig: { add_bos_token: false } });
      fs.writeFileSync(path.join(folder, 'sample.txt'), `${TEXT}\n`);
    }
    await openWorkbench({ folder: dir });
  });

  it('select both folders, right-click -> Compare Checkpoints: error bars, blocks and next tokens side by side', async () => {
    const frame = await compareFromExplorer('base', 'finetuned', TEXT, 4);
    // the bars are drawn (more than the background), with a row per block under them
    assert.ok((await colours(frame.locator('#compare-errors canvas'))) > 2, 'the error chart is drawn');
    assert.ok((await colours(frame.locator('#compare-units canvas').first())) > 2, 'the overlap chart is drawn');
    const rows = frame.getByRole('table', { name: 'blocks compared' }).locator('tbody tr');
    assert.strictEqual(await rows.count(), 4);
    // block 0 is the same in both (zero error); block 1 is where they part
    assert.match(await rows.nth(0).locator('td').first().innerText(), /^0 \/ 0$/);
    assert.doesNotMatch(await rows.nth(1).locator('td').first().innerText(), /^0 \/ 0$/);
    assert.strictEqual(await rows.nth(0).locator('td.changed').innerText(), 'none');
    // A's next tokens beside B's
    const next = frame.getByRole('table', { name: 'next tokens of A and B' }).locator('tbody tr');
    assert.strictEqual(await next.count(), 5);
    assert.strictEqual(await next.first().locator('code').count(), 2);
    assert.match(await frame.locator('.compare-kl').innerText(), /^KL\(A‖B\) = [\d.e-]+ nats/);
    await screenshot('compare-panel-tiny');
  });

  it('clicking a block shows A and B stacked, with the difference under them', async () => {
    const drawn = await clickBlock(1);
    const names = await drawn.locator('#compare-heatmaps .heat-name').allInnerTexts();
    assert.strictEqual(names.length, 3);
    assert.match(names[0], /^A · (base|finetuned)$/);
    assert.match(names[1], /^B · (base|finetuned)$/);
    assert.strictEqual(names[2], 'B − A');
    assert.strictEqual(await drawn.getByRole('button', { name: 'Block 1' }).getAttribute('aria-pressed'), 'true');
    await drawn.locator('#compare-heatmaps').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await screenshot('compare-heatmaps-tiny');
  });
});

/** "0.00506 / 0.00711" -> [0.00506, 0.00711] */
function meanWorst(cell: string): [number, number] {
  const m = /^([\d.e-]+) \/ ([\d.e-]+)$/.exec(cell.trim());
  assert.ok(m, `a "mean / worst" cell: ${JSON.stringify(cell)}`);
  return [Number(m[1]), Number(m[2])];
}

describe('FFN Lens: compare the trained LLaMA sample with its Q8_0 and Q4_0 GGUF copies', () => {
  const sampleLine = fs.readFileSync(path.join(SAMPLES, 'llama-english', 'sample.txt'), 'utf8').split('\n')[0];
  /** Per block, the mean FFN output error of the Q8_0 copy; and its KL. */
  const q8: { means: number[]; kl: number } = { means: [], kl: NaN };

  before(async () => {
    await openWorkbench();
  });

  /** The blocks' mean / worst output errors and top overlaps, the next tokens side by side, and the KL of the panel. */
  async function measures(frame: Frame): Promise<{ errors: [number, number][]; overlaps: number[]; next: string[][]; kl: number }> {
    const rows = frame.getByRole('table', { name: 'blocks compared' }).locator('tbody tr');
    assert.strictEqual(await rows.count(), 4);
    const errors: [number, number][] = [];
    const overlaps: number[] = [];
    for (let b = 0; b < 4; b++) {
      const cells = rows.nth(b).locator('td');
      errors.push(meanWorst(await cells.nth(0).innerText()));
      overlaps.push(Number(await cells.nth(3).innerText()));
    }
    const nextRows = frame.getByRole('table', { name: 'next tokens of A and B' }).locator('tbody tr');
    assert.strictEqual(await nextRows.count(), 5);
    const next: string[][] = [];
    for (let i = 0; i < 5; i++) next.push(await nextRows.nth(i).locator('code').allInnerTexts());
    const kl = /^KL\(A‖B\) = ([\d.e-]+) nats/.exec(await frame.locator('.compare-kl').innerText());
    assert.ok(kl, 'the KL line');
    return { errors, overlaps, next, kl: Number(kl[1]) };
  }

  it('the HF folder against the Q8_0 GGUF: small errors in every block, the same next tokens', async () => {
    const m = await measures(await compareFromExplorer('llama-english', 'llama-english-q8_0.gguf', sampleLine, 4));
    for (const [b, [mean, worst]] of m.errors.entries()) {
      // Q8_0 keeps 8 bits per weight with a scale per 32: the FFN output moves by under 5% per
      // token, never by 0; were the GGUF's interleaved q/k order read as the folder's, attention
      // (and so every block after 0) would move by far more than that
      assert.ok(mean > 0 && mean < 0.05 && worst >= mean && worst < 0.1, `block ${b} output error ${mean} / ${worst}`);
      assert.ok(m.overlaps[b] > 0.8, `block ${b} top overlap ${m.overlaps[b]}`);
    }
    for (let i = 0; i < 3; i++) assert.strictEqual(m.next[i][0], m.next[i][1], `next token ${i}: ${m.next[i].join(' vs ')}`);
    assert.ok(m.kl > 0 && m.kl < 0.01, `KL ${m.kl}`);
    q8.means = m.errors.map(([mean]) => mean);
    q8.kl = m.kl;
    await screenshot('compare-panel-q8_0');
  });

  it('against the Q4_0 GGUF: every block moves more than with Q8_0, and the distribution with it', async () => {
    assert.strictEqual(q8.means.length, 4, 'the Q8_0 comparison ran first');
    const m = await measures(await compareFromExplorer('llama-english', 'llama-english-q4_0.gguf', sampleLine, 4));
    for (const [b, [mean, worst]] of m.errors.entries()) {
      // 4 bits with one scale per 32 weights: errors of some percent, more than Q8_0's in every block
      assert.ok(mean > q8.means[b] && mean < 0.3 && worst >= mean && worst < 0.5, `block ${b} output error ${mean} / ${worst} (Q8_0: ${q8.means[b]})`);
      assert.ok(m.overlaps[b] > 0.5, `block ${b} top overlap ${m.overlaps[b]}`);
    }
    assert.strictEqual(m.next[0][0], m.next[0][1], `the most likely next token stays: ${m.next[0].join(' vs ')}`);
    assert.ok(m.kl > q8.kl && m.kl < 0.1, `KL ${m.kl} (Q8_0: ${q8.kl})`);
    await screenshot('compare-panel', { docs: true });
  });

  it("block 1's heatmaps: A and B alike, B − A the quantisation noise", async () => {
    const drawn = await clickBlock(1);
    await drawn.locator('#compare-heatmaps').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await screenshot('compare-heatmaps', { docs: true });
  });

  it('Developer: Reload Window (as a restart) restores the comparison, compared again', async () => {
    // the workbench's own reload: it saves its state (the webview's with it) as it shuts down
    const reloaded = page().waitForEvent('load', { timeout: 90_000 });
    await runCommand('Developer: Reload Window');
    await reloaded;
    await explorerRow('llama-english').waitFor({ timeout: 90_000 });
    const frame = await comparePanel('[data-compare-blocks="4"]');
    assert.match(await frame.locator('header h1').innerText(), pairTitle('llama-english', 'llama-english-q4_0.gguf'));
    const m = await measures(frame);
    assert.ok(m.errors.every(([mean], b) => mean > q8.means[b] && mean < 0.3), `the Q4_0 errors again: ${m.errors.map(([x]) => x).join(', ')}`);
  });

  it('Compare Checkpoint Weights on the same pair: every FFN matrix of every block moved, nothing run', async () => {
    await explorerRow('llama-english').click();
    await explorerRow('llama-english-q4_0.gguf').click({ modifiers: ['Control'] });
    await chooseExplorerMenu('llama-english-q4_0.gguf', 'Compare Checkpoint Weights');
    const title = pairTitle('llama-english', 'llama-english-q4_0.gguf');
    const frame = await webviewFrame(async (f) => {
      if ((await f.locator('body[data-ready="true"][data-view="compare-weights"][data-compare-tensors="12"]').count()) === 0) return false;
      return title.test(await f.locator('header h1').innerText({ timeout: 1000 }));
    }, 120_000);
    const rows = frame.getByRole('table', { name: 'matrices compared' }).locator('tbody tr');
    assert.strictEqual(await rows.count(), 12, '4 blocks x gate, up, down');
    for (let i = 0; i < 12; i++) {
      const role = await rows.nth(i).getAttribute('data-role');
      const rel = Number(await rows.nth(i).locator('td.relative').innerText());
      // Q4_0: 4 bits with a scale per 32 weights; every matrix moved by some percent
      assert.ok(rel > 0.01 && rel < 0.3, `block ${await rows.nth(i).getAttribute('data-block')} ${role}: ${rel}`);
      assert.match(await rows.nth(i).locator('td.changed').innerText(), /^#\d+ \(/);
    }
    assert.match(await frame.locator('.compare-weights-worst').innerText(), /^12 of 12 matrices changed; the most: block \d (gate|up|down)/);
    assert.ok((await colours(frame.locator('#compare-weights-blocks canvas'))) > 2, 'the bars are drawn');
    await screenshot('compare-weights', { docs: true });
  });
});
