// The weight viewer as a person sees it: open samples/gpt2-mini.safetensors from the explorer, wait
// for the table, filter and sort it, compute one tensor's statistics and compare them with the file.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { SAMPLES, explorerMenuItem, explorerRow, openWorkbench, page, runCommand, screenshot, webviewFrame, type Frame } from './fixture';

const SAMPLE = 'gpt2-mini.safetensors';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The sample's header, read here independently of the extension. */
function readHeader(file: string): { entries: Record<string, HeaderEntry>; dataStart: number } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const json = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  delete json.__metadata__;
  return { entries: json as Record<string, HeaderEntry>, dataStart: 8 + n };
}

/** Mean of an F32 tensor of the sample, in double precision. */
function meanF32(file: string, name: string): number {
  const { entries, dataStart } = readHeader(file);
  const e = entries[name];
  assert.strictEqual(e.dtype, 'F32');
  const bytes = fs.readFileSync(file);
  let sum = 0;
  const [begin, end] = e.data_offsets;
  for (let at = dataStart + begin; at < dataStart + end; at += 4) sum += bytes.readFloatLE(at);
  return sum / ((end - begin) / 4);
}

async function bodyData(frame: Frame, key: string): Promise<string | undefined> {
  return frame.evaluate((k) => document.body.dataset[k], key);
}

async function waitRows(frame: Frame, rows: number): Promise<void> {
  await frame.waitForFunction((n) => document.body.dataset.rows === String(n), rows, { timeout: 10_000 });
}

describe('weight viewer in the browser', () => {
  const file = path.join(SAMPLES, SAMPLE);
  const { entries } = readHeader(file);
  const tensorCount = Object.keys(entries).length;
  let frame: Frame;

  // Opening the file activates the extension (onCustomEditor) -- once the workbench knows the
  // extension's contributions, or it would open the file as text: its explorer menu shows then.
  before(async () => {
    await openWorkbench();
    await explorerMenuItem(SAMPLE, 'Explore FFN Layer');
    await page().keyboard.press('Escape');
  });

  it('opens a .safetensors file from the explorer in the viewer and lists every tensor', async () => {
    // The explorer menu can list our items a moment before the workbench has taken the custom
    // editor's registration: a file opened in that moment shows as binary text. Then close it and
    // open it again (up to 3 times), as a person would.
    for (let attempt = 1; ; attempt++) {
      await explorerRow(SAMPLE).click();
      try {
        frame = await webviewFrame('body[data-ready="true"] .tensors', attempt < 3 ? 20_000 : 60_000);
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await runCommand('View: Close All Editors');
      }
    }
    assert.strictEqual(await bodyData(frame, 'rows'), String(tensorCount));
    assert.match((await frame.locator('.summary .facts').textContent()) ?? '', new RegExp(`SAFETENSORS · 410 KB · ${tensorCount} tensors · 4 FFN layers`));
    assert.match((await frame.locator('.summary .headline').textContent()) ?? '', /model: gpt2-mini/);
    // Only the rows in view exist in the DOM, not all of them.
    const drawn = await frame.locator('tr.row').count();
    assert.ok(drawn > 10 && drawn <= tensorCount, `${drawn} rows drawn`);
  });

  it('shows the FFN layers with an Explore action', async () => {
    const layers = frame.locator('tr.layer');
    assert.strictEqual(await layers.count(), 4);
    const first = frame.locator('tr.layer[data-layer="h.0.mlp"]');
    assert.match((await first.textContent()) ?? '', /h\.0\.mlp\s*plain\s*gelu_tanh\s*48 → 192\s*c_fc\/c_proj/);
    assert.strictEqual(await first.locator('button.explore').count(), 1);
  });

  it('filters and sorts the table', async () => {
    await frame.locator('input.filter').fill('c_fc.weight');
    await waitRows(frame, 4);
    assert.deepStrictEqual(await frame.locator('tr.row td.c-name').allTextContents(), [0, 1, 2, 3].map((l) => `h.${l}.mlp.c_fc.weight`));
    await frame.locator('input.filter').fill('');
    await waitRows(frame, tensorCount);
    await frame.locator('th button.sort', { hasText: 'Size' }).click();
    const biggest = Object.entries(entries).reduce((a, b) => (b[1].data_offsets[1] - b[1].data_offsets[0] > a[1].data_offsets[1] - a[1].data_offsets[0] ? b : a));
    assert.strictEqual(await frame.locator('tr.row td.c-name').first().textContent(), biggest[0]);
    await frame.locator('th button.sort', { hasText: '#' }).click();
    assert.strictEqual(await frame.locator('tr.row td.c-name').first().textContent(), Object.keys(entries)[0]);
  });

  it('computes statistics of one tensor on demand', async () => {
    const name = 'h.0.mlp.c_fc.weight';
    const row = frame.locator(`tr.row[data-name="${name}"]`);
    assert.strictEqual(await frame.locator('tr.row[data-stats="done"]').count(), 0, 'no statistics before asking');
    await row.locator('button.stats-btn').click();
    const done = frame.locator(`tr.row[data-name="${name}"][data-stats="done"]`);
    await done.waitFor({ timeout: 30_000 });
    // Mean, std, min, max, zeros, NaN/Inf.
    const cells = (await done.locator('td.c-stat').allTextContents()).map((t) => t.trim());
    assert.strictEqual(cells.length, 6, cells.join(' | '));
    assert.match(cells[0], /^-?\d/);
    assert.ok(Number(cells[1]) > 0 && Number(cells[2]) < 0 && Number(cells[3]) > 0, cells.join(' | '));
    assert.deepStrictEqual(cells.slice(4), ['0.0%', '–']);
    const shownMean = Number(await done.locator('td.c-mean').getAttribute('data-mean'));
    const expected = meanF32(file, name);
    assert.ok(Math.abs(shownMean - expected) < 1e-9, `mean ${shownMean}, expected ${expected}`);
    assert.ok(Math.abs(Number(cells[0]) - expected) <= Math.abs(expected) * 5e-3, `shown ${cells[0]}, expected ${expected}`);
    assert.strictEqual(await frame.locator('tr.row[data-stats="done"]').count(), 1, 'only the asked tensor');

    // A few more for the screenshot: F16, BF16 and a bias.
    for (const other of ['wte.weight', 'h.0.attn.c_attn.weight', 'h.0.mlp.c_fc.bias']) {
      await frame.locator(`tr.row[data-name="${other}"] button.stats-btn`).click();
      await frame.locator(`tr.row[data-name="${other}"][data-stats="done"]`).waitFor({ timeout: 30_000 });
    }
    // The whole table for the docs: the side bar out of the way.
    await runCommand('View: Toggle Primary Side Bar Visibility');
    await frame.waitForFunction(() => (document.querySelector('.scroller')?.clientWidth ?? 0) > 1200, undefined, { timeout: 10_000 });
    await screenshot('viewer', { docs: true });
    await runCommand('View: Toggle Primary Side Bar Visibility');
  });
});
