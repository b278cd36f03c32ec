// Issue 13's first run inside a real VS Code: the walkthrough "Get started with FFN Lens" is
// contributed with five steps, each with its page and a button that runs a registered command;
// it opens as an editor; then each step's command runs in order, as its button would, on the
// sample model and text inside the extension, and what the panel got is checked through _lastRun.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NeuronOutcome } from '../../src/extension/commands/walkthrough';
import { WALKTHROUGH_SAMPLE, WALKTHROUGH_TEXT } from '../../src/extension/constants';
import { shouldOpenWalkthrough } from '../../src/extension/firstRun';
import type { RunOutcome } from '../../src/extension/session';
import { activate, closeAll, EXTENSION_ID, lastRun, waitFor, waitForRendered } from './helpers';

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string };
  completionEvents?: string[];
}

const ext = (): vscode.Extension<unknown> => {
  const e = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(e, `${EXTENSION_ID} is not loaded`);
  return e;
};

/** The command a step's button (a `command:` link in its description) runs. */
function buttonCommand(step: Step): string {
  const m = /\]\(command:([\w.]+)\)/.exec(step.description);
  assert.ok(m, `step ${step.id} has no command button: ${step.description}`);
  return m[1];
}

/** Tabs of VS Code's walkthrough editor (titled "Welcome"; the API gives it no input type). */
const walkthroughTabs = (): vscode.Tab[] => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input === undefined && /Welcome|Walkthrough/.test(t.label));

describe('FFN Lens: the first-run walkthrough', function () {
  this.timeout(180_000);
  let steps: Step[];

  before(async () => {
    await activate();
    await closeAll();
  });

  it('is contributed with five steps, each with its page and a button that runs a registered command and ticks the step', async () => {
    const contributed = (ext().packageJSON as { contributes: { walkthroughs?: { id: string; title: string; steps: Step[] }[] } }).contributes.walkthroughs ?? [];
    const w = contributed.find((x) => x.id === 'ffnLens.firstRun');
    assert.ok(w, `no walkthrough ffnLens.firstRun among ${JSON.stringify(contributed.map((x) => x.id))}`);
    assert.match(w.title, /FFN Lens/);
    steps = w.steps;
    assert.deepStrictEqual(
      steps.map((s) => s.id),
      ['openSample', 'trySentence', 'slideLayer', 'openNeuron', 'ablate'],
    );
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const s of steps) {
      assert.ok(s.media.markdown, `step ${s.id} has a markdown page`);
      const page = path.join(ext().extensionPath, s.media.markdown);
      assert.ok(fs.existsSync(page), `${page} exists`);
      assert.match(fs.readFileSync(page, 'utf8'), /^# \S/, `${s.media.markdown} starts with a heading`);
      const command = buttonCommand(s);
      assert.ok(registered.has(command), `${command} (step ${s.id}) is registered`);
      assert.deepStrictEqual(s.completionEvents, [`onCommand:${command}`], `step ${s.id} ticks off when its button runs`);
    }
  });

  it('opens as an editor (FFN Lens: Get Started), and by itself only on a first run in the extension\'s samples/ folder', async () => {
    assert.strictEqual(walkthroughTabs().length, 0, 'no walkthrough open before');
    await vscode.commands.executeCommand('ffnLens.getStarted');
    await waitFor('the walkthrough tab', () => (walkthroughTabs().length ? true : undefined)).catch((e: Error) => {
      throw new Error(`${e.message}; tabs: ${JSON.stringify(vscode.window.tabGroups.all.map((g) => g.tabs.map((t) => [t.label, t.input?.constructor?.name])))}`);
    });

    // The activation event that wakes the extension in its own samples/ folder matches a file there.
    const events = (ext().packageJSON as { activationEvents: string[] }).activationEvents;
    const marker = events.find((e) => e.startsWith('workspaceContains:'))?.slice('workspaceContains:'.length);
    assert.ok(marker, `an activation event for the samples folder among ${events.join(', ')}`);
    const samples = path.join(ext().extensionPath, 'samples');
    assert.ok(fs.existsSync(path.join(samples, marker)), `samples/${marker} exists`);

    const first = { testRun: false, shown: false, openOnInstall: true, folders: [samples], samples };
    assert.strictEqual(shouldOpenWalkthrough(first), true);
    assert.strictEqual(shouldOpenWalkthrough({ ...first, folders: [path.join(samples, '..')] }), false, 'another folder');
    assert.strictEqual(shouldOpenWalkthrough({ ...first, folders: [`${samples}${path.sep}`] }), true, 'the same folder with a trailing separator');
    assert.strictEqual(shouldOpenWalkthrough({ ...first, folders: [path.join(samples, WALKTHROUGH_SAMPLE)] }), false, 'a folder inside it');
    assert.strictEqual(shouldOpenWalkthrough({ ...first, shown: true }), false, 'opened before');
    assert.strictEqual(shouldOpenWalkthrough({ ...first, openOnInstall: false }), false, 'walkthroughs turned off');
    assert.strictEqual(shouldOpenWalkthrough({ ...first, testRun: true }), false, 'a test run');
  });

  const sampleDir = (): string => path.join(ext().extensionPath, 'samples', WALKTHROUGH_SAMPLE);
  const config = (): { n_layer: number } => JSON.parse(fs.readFileSync(path.join(sampleDir(), 'config.json'), 'utf8')) as { n_layer: number };
  const runStep = async <T>(step: number): Promise<T> => vscode.commands.executeCommand<T>(buttonCommand(steps[step]));
  let block = 0;
  let unit = -1;

  it('1. opens the sample model of the extension in the panel, beside the walkthrough, on a first sentence', async () => {
    const out = await runStep<RunOutcome>(0);
    assert.ok(out?.ok, JSON.stringify(out));
    const r = await waitForRendered(0);
    assert.strictEqual(r.request?.file, sampleDir());
    assert.strictEqual(r.panel?.run?.file, sampleDir(), 'the panel shows it');
    const m = r.panel?.run?.model;
    assert.ok(m && r.request?.model, 'a model run');
    assert.ok(r.request.model.text.trim().length > 0, 'a prepared sentence');
    assert.ok(m.tokenText.join('').endsWith(r.request.model.text), `the tokens ${JSON.stringify(m.tokenText)} spell the sentence`);
    assert.strictEqual(m.blocks, config().n_layer);
    assert.strictEqual(m.next.length, 5);
    // the panel and the walkthrough are both in view, in different groups
    const groupOf = (pred: (t: vscode.Tab) => boolean): vscode.TabGroup | undefined => vscode.window.tabGroups.all.find((g) => g.tabs.some(pred));
    const panelGroup = groupOf((t) => t.input instanceof vscode.TabInputWebview && /ffnLens\.panel/.test(t.input.viewType));
    const walkGroup = groupOf((t) => walkthroughTabs().includes(t));
    assert.ok(panelGroup && walkGroup, 'both tabs exist');
    assert.notStrictEqual(panelGroup.viewColumn, walkGroup.viewColumn, 'the panel opened beside the walkthrough');
    assert.ok(panelGroup.activeTab?.input instanceof vscode.TabInputWebview && walkGroup.activeTab && walkthroughTabs().includes(walkGroup.activeTab), 'both are the active tab of their group');
  });

  it('2. runs a sentence of your own through the model at the block shown', async () => {
    const text = 'Call me Ishmael, said the sailor to the whale.';
    const posts = (await lastRun()).panel?.posts ?? 0;
    const out = await vscode.commands.executeCommand<RunOutcome>(buttonCommand(steps[1]), text);
    assert.ok(out?.ok, JSON.stringify(out));
    const r = await waitForRendered(posts);
    assert.strictEqual(r.request?.model?.text, text);
    assert.strictEqual(r.request?.file, sampleDir(), 'still the sample');
    const m = r.panel?.run?.model;
    assert.ok(m);
    assert.ok(m.tokenText.join('').endsWith(text), `the tokens ${JSON.stringify(m.tokenText)} spell the sentence`);
    assert.strictEqual(m.block, 0);
    assert.strictEqual(r.panel?.run?.tokens.length, m.tokenIds.length, 'the layer ran on every token');
  });

  it('3. slides to the next block: its FFN runs on the same tokens', async () => {
    const before = await lastRun();
    const out = await runStep<RunOutcome>(2);
    assert.ok(out?.ok, JSON.stringify(out));
    const r = await waitForRendered(before.panel?.posts ?? 0);
    block = r.panel?.run?.model?.block ?? -1;
    assert.strictEqual(block, 1 % config().n_layer);
    // Hugging Face GPT-2 names the FFN of block n `transformer.h.<n>.mlp`
    assert.match(r.panel?.run?.layer ?? '', new RegExp(`(^|\\.)h\\.${block}\\.mlp$`));
    assert.notStrictEqual(r.panel?.run?.layer, before.panel?.run?.layer);
    assert.deepStrictEqual(r.panel?.run?.model?.tokenIds, before.panel?.run?.model?.tokenIds);
  });

  it("4. opens the last token's top neuron: its card has what it promotes and suppresses, and where it fires in samples/text", async () => {
    const before = await lastRun();
    const top = before.panel?.run?.topNeurons;
    assert.ok(top?.length, 'the run has top neurons per token');
    const out = await runStep<NeuronOutcome>(3);
    assert.ok(out?.ok, JSON.stringify(out));
    assert.strictEqual(out.block, block);
    assert.strictEqual(out.token, top.length - 1, 'the last token: the next token is predicted from it');
    assert.strictEqual(out.unit, top[top.length - 1][0], 'the unit that writes most into that token');
    unit = out.unit;

    const textDir = path.join(ext().extensionPath, 'samples', WALKTHROUGH_TEXT);
    const bundled = fs.readdirSync(textDir).filter((n) => n.endsWith('.txt'));
    assert.ok(bundled.length > 0, `${textDir} holds text`);
    // a profile that scanned this block of this model before keeps that scan (test:electron's profile lasts)
    if (out.scan !== 'kept') {
      assert.ok(out.scan.ok, JSON.stringify(out.scan));
      assert.strictEqual(out.scan.files, bundled.length, 'every bundled file, and only those (not the workspace)');
      assert.ok(out.scan.stored.startsWith(before.scanStorage), `${out.scan.stored} is in the extension's global storage`);
    }

    const card = await waitFor(
      'the card with the scan',
      async () => {
        const c = (await lastRun()).panel?.cardView;
        return c && c.unit === unit && c.block === block && c.scan ? c : undefined;
      },
      90_000,
    );
    assert.ok(card.promotes.length > 0 && card.suppresses.length > 0, 'promotes and suppresses');
    const lowestPromoted = Math.min(...card.promotes.map((t) => t.value));
    const highestSuppressed = Math.max(...card.suppresses.map((t) => t.value));
    assert.ok(lowestPromoted > highestSuppressed, `promoted ${lowestPromoted} above suppressed ${highestSuppressed}`);
    const scan = card.scan;
    assert.ok(scan && scan.examples.length > 0, 'examples from the scan');
    assert.match(scan.corpus, /samples\/text/);
    const names = new Set(bundled.map((n) => `samples/${WALKTHROUGH_TEXT}/${n}`));
    for (const e of scan.examples) assert.ok(names.has(e.file), `${e.file} is a bundled text file`);
    const values = scan.examples.map((e) => e.value);
    assert.deepStrictEqual(values, [...values].sort((a, b) => b - a), 'hardest first');
    const readable = scan.examples.filter((e) => e.token.trim() && !e.token.includes('\uFFFD'));
    assert.ok(readable.length > 0);
    for (const e of readable) {
      const text = fs.readFileSync(path.join(textDir, path.basename(e.file)), 'utf8');
      assert.ok(text.includes(e.token), `${JSON.stringify(e.token)} occurs in ${e.file}`);
      assert.strictEqual(e.context.slice(e.tokenSpan[0], e.tokenSpan[1]), e.token);
    }
  });

  it('5. ablates that unit: the next-token box has the prediction without it beside the baseline; again restores it', async () => {
    const before = await lastRun();
    const baseline = before.panel?.run?.model?.next;
    assert.ok(baseline?.length && !before.panel?.run?.model?.ablated.length, 'a prediction without ablation first');
    let out = await runStep<RunOutcome>(4);
    assert.ok(out?.ok, JSON.stringify(out));
    let r = await waitForRendered(before.panel?.posts ?? 0);
    const m = r.panel?.run?.model;
    assert.ok(m?.nextBaseline, 'the baseline beside the ablated prediction');
    assert.deepStrictEqual(m.ablated, [unit]);
    assert.strictEqual(m.block, block);
    assert.strictEqual(m.next.length, 5);
    assert.deepStrictEqual(m.nextBaseline.map((t) => t.id), baseline.map((t) => t.id), 'the baseline is the prediction before');
    m.nextBaseline.forEach((t, i) => assert.ok(Math.abs(t.prob - baseline[i].prob) < 1e-6, `baseline p(${t.id})`));
    // the unit wrote into the last token, so without it the probabilities move
    const moved = m.next.some((t) => {
      const b = m.nextBaseline?.find((x) => x.id === t.id);
      return !b || Math.abs(b.prob - t.prob) > 1e-7;
    });
    assert.ok(moved, `the prediction moved: ${JSON.stringify(m.next)} vs ${JSON.stringify(m.nextBaseline)}`);

    out = await runStep<RunOutcome>(4);
    assert.ok(out?.ok, JSON.stringify(out));
    r = await waitForRendered(r.panel?.posts ?? 0);
    assert.deepStrictEqual(r.panel?.run?.model?.ablated, []);
    assert.deepStrictEqual(r.panel?.run?.model?.next.map((t) => t.id), baseline.map((t) => t.id), 'restored');
  });

  after(async () => {
    await closeAll();
  });
});
