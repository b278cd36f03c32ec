// What a person sees of a whole model: right-click samples/tiny-gpt2 -> Explore Model; the panel
// shows the prompt, token chips, the block slider and the next-token box; typing a prompt and
// pressing Run re-tokenizes it, the slider moves to another block, and Ablate on a unit puts the
// ablated prediction beside the baseline.
import * as assert from 'assert';
import type { Frame } from './fixture';
import { chooseExplorerMenu, openWorkbench, page, screenshot, webviewFrame } from './fixture';

/** The panel's document once a model run is drawn with `attrs` (e.g. data-block="1"). */
async function modelPanel(attrs = ''): Promise<Frame> {
  return webviewFrame(async (f) => (await f.locator(`body[data-ready="true"][data-model="true"]${attrs}`).count()) > 0, 90_000);
}

describe('FFN Lens: a whole model on text', () => {
  before(async () => {
    await openWorkbench();
  });

  it('right-click tiny-gpt2 -> Explore Model: prompt, chips, slider and next tokens', async () => {
    await chooseExplorerMenu('tiny-gpt2', 'Explore Model');
    const frame = await modelPanel('[data-block="0"]');
    // the model's sample line is the first prompt
    assert.match(await frame.getByRole('textbox', { name: 'prompt' }).inputValue(), /^The whale and the sea/);
    const chips = frame.getByRole('listbox', { name: 'prompt tokens' }).getByRole('option');
    assert.ok((await chips.count()) > 5, 'token chips');
    assert.strictEqual(await frame.locator('table[aria-label="next tokens"] tbody tr').count(), 5);
    await screenshot('model-panel');
  });

  it('typing a prompt and pressing Run re-runs the model on it', async () => {
    const frame = await modelPanel();
    const box = frame.getByRole('textbox', { name: 'prompt' });
    await box.fill('hello world');
    await frame.getByRole('button', { name: 'Run' }).click();
    const again = await webviewFrame(async (f) => (await f.locator('body[data-ready="true"][data-model="true"][data-tokens="7"]').count()) > 0, 90_000);
    const texts = await again.getByRole('listbox', { name: 'prompt tokens' }).getByRole('option').allTextContents();
    assert.deepStrictEqual(texts, ['hell', 'o', '·w', 'o', 'r', 'l', 'd']);
  });

  it('the slider shows another block, and ablating a unit puts the ablated prediction beside the baseline', async () => {
    const frame = await modelPanel();
    const slider = frame.getByRole('slider', { name: 'block' });
    await slider.focus();
    await page().keyboard.press('ArrowRight');
    const moved = await modelPanel('[data-block="1"]');
    assert.strictEqual(await moved.locator('body').getAttribute('data-layer'), 'transformer.h.1.mlp');
    // pick the selected token's top unit and ablate it
    const unit = moved.getByRole('combobox', { name: 'top unit' });
    const first = await unit.locator('option').nth(1).getAttribute('value'); // the first is the "choose" placeholder
    assert.ok(first, 'a top unit to ablate');
    await unit.selectOption(first);
    await moved.getByRole('button', { name: `Ablate unit ${first}` }).click();
    const ablated = await modelPanel(`[data-ablated="${first}"]`);
    assert.match(await ablated.locator('.ablated-line').innerText(), new RegExp(`units? ${first} of block 1 ablated`));
    await screenshot('model-panel-ablated');
    await ablated.getByRole('button', { name: 'Clear ablation' }).click();
    await modelPanel('[data-ablated=""]');
  });
});
