/**
 * What `compare` keeps in memory (issue 14): the two models take turns a block at a time (Turns),
 * so only one block of A waits for B; the panel's heatmaps keep, within a budget, the blocks of
 * largest hidden error (HiddenKeeper); a failure or a cancel on either side ends both, never a hang.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FfnLensError } from '../../src/core/errors';
import { createGemmEngine, type GemmEngine } from '../../src/kernels';
import { compareOnText, HiddenKeeper } from '../../src/pipeline/compare';
import { Turns, type Side } from '../../src/pipeline/turns';
import type { CompareRequest } from '../../src/protocol/compare';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { makeTinyModel, writeF32F16Pair } from '../helpers/tinyModels';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('compare: turns and what is kept', function () {
  this.timeout(60000);

  describe('Turns', () => {
    /** `steps` checkpoints of `side`, logging each, handing over after each, ending (or throwing at `failAt`). */
    function side(turns: Turns, s: Side, steps: number, log: string[], failAt = -1): Promise<void> {
      return turns.take(s, async () => {
        for (let i = 0; i < steps; i++) {
          await tick(); // work that yields, as a block's products do
          if (i === failAt) throw new Error(`${s} failed at ${i}`);
          log.push(`${s}${i}`);
          await turns.hand(s);
        }
      });
    }

    it('A and B alternate a step at a time, A first; the one left runs on alone', async () => {
      const turns = new Turns();
      const log: string[] = [];
      await Promise.all([side(turns, 'A', 3, log), side(turns, 'B', 5, log)]);
      assert.deepStrictEqual(log, ['A0', 'B0', 'A1', 'B1', 'A2', 'B2', 'B3', 'B4']);
    });

    it('a failure on one side rejects the other where it waits, with the same error', async () => {
      for (const failing of ['A', 'B'] as const) {
        const turns = new Turns();
        const log: string[] = [];
        const runs = await Promise.allSettled([side(turns, 'A', 4, log, failing === 'A' ? 2 : -1), side(turns, 'B', 4, log, failing === 'B' ? 1 : -1)]);
        const message = failing === 'A' ? 'A failed at 2' : 'B failed at 1';
        for (const r of runs) {
          assert.strictEqual(r.status, 'rejected');
          assert.strictEqual((r as PromiseRejectedResult).reason.message, message);
        }
        assert.deepStrictEqual(log, failing === 'A' ? ['A0', 'B0', 'A1', 'B1'] : ['A0', 'B0', 'A1']);
      }
    });
  });

  describe('HiddenKeeper', () => {
    const pair = (): { a: Float32Array; b: Float32Array } => ({ a: new Float32Array(1), b: new Float32Array(1) });

    it('keeps as many blocks as the budget holds, those of largest error (NaN counts as largest; on a tie the earlier block)', () => {
      const k = new HiddenKeeper(2 * 100 + 99, 100);
      assert.strictEqual(k.capacity, 2);
      let made = 0;
      const offer = (block: number, error: number): void => k.offer(block, error, () => (made++, pair()));
      // worked by hand: {0} {0,1} {1,2} (0.3 > 0.1) {1,3} (0.5 > 0.3) {1,4} (NaN beats the later 0.5)
      offer(0, 0.1);
      offer(1, 0.5);
      offer(2, 0.3);
      offer(3, 0.5);
      offer(4, NaN);
      offer(5, 0.2); // less than both kept: not copied at all
      assert.deepStrictEqual([0, 1, 2, 3, 4, 5].filter((b) => k.get(b)), [1, 4]);
      assert.strictEqual(made, 5, 'a block that is not kept is never copied');
    });

    it('a budget under one block keeps none; no budget keeps all', () => {
      const none = new HiddenKeeper(99, 100);
      none.offer(0, 1, pair);
      assert.strictEqual(none.get(0), undefined);
      const all = new HiddenKeeper(Infinity, 100);
      for (let b = 0; b < 10; b++) all.offer(b, 0, pair);
      assert.ok([...Array(10).keys()].every((b) => all.get(b)));
    });
  });

  describe('compareOnText', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-compare-memory-'));
    let engine: GemmEngine;
    let req: CompareRequest;

    before(async () => {
      engine = createGemmEngine({ threads: 1 });
      await engine.ready();
      const { json, vocabSize } = byteBpeTokenizer();
      const model = makeTinyModel('llama', { seed: 23, layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize, maxPositions: 32 });
      const { a, b } = writeF32F16Pair(dir, model, json);
      req = { modelA: a, modelB: b, input: { kind: 'text', text: 'hello world, hello whale' }, top: 5, keepHidden: true };
    });
    after(async () => {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('over the budget, the heatmaps keep the two blocks of largest hidden error; the measures are the same', async () => {
      const full = await compareOnText(req, engine);
      const T = full.tokenIds.length;
      const blockBytes = 2 * T * 64 * 4;
      const part = await compareOnText({ ...req, hiddenBudgetBytes: 2 * blockBytes + blockBytes / 2 }, engine);
      assert.deepStrictEqual(part.layers, full.layers);
      assert.strictEqual(part.kl, full.kl);
      // the two largest hidden errors, from the measures themselves
      const byError = full.layers.map((l, i) => ({ i, e: l.hiddenError.mean })).sort((x, y) => y.e - x.e || x.i - y.i);
      const expectKept = byError.slice(0, 2).map((x) => x.i).sort();
      const kept = (part.hidden ?? []).map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
      assert.deepStrictEqual(kept, expectKept);
      for (const i of kept) {
        assert.deepStrictEqual(Array.from(part.hidden?.[i]?.a ?? []), Array.from(full.hidden?.[i]?.a ?? []));
        assert.deepStrictEqual(Array.from(part.hidden?.[i]?.b ?? []), Array.from(full.hidden?.[i]?.b ?? []));
      }
      const dropped = [0, 1, 2, 3].filter((i) => !expectKept.includes(i));
      const warning = part.warnings.find((w) => w.startsWith('block heatmaps kept for 2 of 4 blocks'));
      assert.ok(warning, part.warnings.join('\n'));
      assert.match(warning, new RegExp(`not kept: ${dropped.join(', ')}$`));
      assert.ok(full.warnings.every((w) => !w.startsWith('block heatmaps')), 'no budget, no warning');
    });

    it('a cancel while one model waits for the other rejects as cancelled (a hang would be the timeout)', async () => {
      for (const at of ['A: block 2', 'B: block 1']) {
        const controller = new AbortController();
        await assert.rejects(
          compareOnText(req, engine, {
            signal: controller.signal,
            onProgress: (_, message) => {
              if (message.startsWith(at)) controller.abort();
            },
          }),
          (e: unknown) => e instanceof FfnLensError && e.kind === 'cancelled',
        );
      }
    });
  });
});
