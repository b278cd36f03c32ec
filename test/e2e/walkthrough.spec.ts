// The first-run walkthrough as a newcomer clicks through it, on the trained GPT-2 sample: open it,
// try the offered sentence, slide to block 1, open the last token's top neuron (a scan of the
// bundled text fills its card) and ablate it. `npm run test:e2e -- --docs-screenshots` writes the
// README's model-panel, neuron-card and model-panel-ablated screenshots from this run.
import * as assert from 'assert';
import type { Frame } from './fixture';
import { openWorkbench, page, runCommand, screenshot, webviewFrame } from './fixture';

/** The panel's document once a model run is drawn with `attrs`. */
async function modelPanel(attrs = '', timeoutMs = 120_000): Promise<Frame> {
  return webviewFrame(async (f) => (await f.locator(`body[data-ready="true"][data-model="true"]${attrs}`).count()) > 0, timeoutMs);
}

/** Expands a walkthrough step by its title and presses its button. */
async function step(title: string, button: string): Promise<void> {
  const p = page();
  await p.locator('.getting-started-step', { hasText: title }).first().click({ timeout: 30_000 });
  await p.getByRole('button', { name: button }).first().click({ timeout: 30_000 });
}

describe('FFN Lens: the first-run walkthrough on the trained sample', function () {
  this.timeout(300_000);
  before(async () => {
    await openWorkbench();
  });

  it('Get Started opens the walkthrough with its five steps', async () => {
    await runCommand('FFN Lens: Get Started');
    const steps = page().locator('.getting-started-step');
    await page().locator('.getting-started-step', { hasText: 'Open the trained GPT-2 sample' }).first().waitFor({ timeout: 60_000 });
    assert.ok((await steps.count()) >= 5, 'five steps');
  });

  it('step 1 opens gpt2-english on its first sentence; step 2 runs the offered sentence', async () => {
    await step('Open the trained GPT-2 sample', 'Open the GPT-2 sample');
    const first = await modelPanel('[data-block="0"]');
    assert.match(await first.getByRole('textbox', { name: 'prompt' }).inputValue(), /^Call me Ishmael/);
    await step('Type a sentence', 'Try a sentence');
    const input = page().locator('.quick-input-widget input');
    await input.waitFor({ timeout: 30_000 });
    assert.strictEqual(await input.inputValue(), 'The war ended in 19');
    await page().keyboard.press('Enter');
    // (the prompt is read only in the panel's frame: a locator elsewhere would wait out its timeout)
    const frame = await webviewFrame(
      async (f) => (await f.locator('body[data-ready="true"][data-model="true"]').count()) > 0 && (await f.getByRole('textbox', { name: 'prompt' }).inputValue({ timeout: 2000 })) === 'The war ended in 19',
      120_000,
    );
    const chips = await frame.getByRole('listbox', { name: 'prompt tokens' }).getByRole('option').allTextContents();
    assert.strictEqual(chips[chips.length - 1], '·19', 'the year is cut after " 19"');
  });

  it('step 3 slides to block 1; step 4 opens unit 5, which fires before amounts and years in the bundled addresses', async () => {
    await step('Slide the layer', 'Show the next block');
    await modelPanel('[data-block="1"]');
    await screenshot('model-panel', { docs: true });
    await step('Click a neuron', 'Open the top neuron');
    // the scan of samples/text runs in the worker, then the card shows its top examples
    const card = await webviewFrame(async (f) => (await f.locator('body[data-card="1:5"][data-card-scan="true"]').count()) > 0, 180_000);
    const top = await card.locator('ol.examples').first().locator('li').first().innerText();
    assert.match(top, /\$|19/, `the unit's top example: ${top}`);
    const promotes = await card.getByRole('region', { name: 'neuron card' }).innerText();
    assert.match(promotes, /promotes/i);
    // the card's top examples in view: what a reader recognises
    await card.locator('ol.examples').first().scrollIntoViewIfNeeded();
    await screenshot('neuron-card', { docs: true });
  });

  it('step 5 ablates it: the ablated prediction stands beside the baseline', async () => {
    await step('Ablate it', 'Ablate the neuron');
    const ablated = await modelPanel('[data-ablated="5"]');
    assert.match(await ablated.locator('.ablated-line').innerText(), /unit 5 of block 1 ablated/);
    await screenshot('model-panel-ablated', { docs: true });
  });
});
