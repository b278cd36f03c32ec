import * as assert from 'assert';
import { explorerRow, openWorkbench, page, screenshot } from './fixture';

describe('smoke: the workbench in a browser', () => {
  before(async () => {
    await openWorkbench();
  });

  it('loads the workbench on samples/', async () => {
    await page().locator('.monaco-workbench').waitFor();
    assert.match(await page().title(), /samples/);
  });

  it('lists a sample weight file in the explorer', async () => {
    const row = explorerRow('tiny-relu.json');
    await row.waitFor({ timeout: 30_000 });
    assert.strictEqual(await explorerRow('no-such-file.json').count(), 0);
    await screenshot('smoke-workbench');
  });
});
