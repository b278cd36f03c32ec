/**
 * The panel's model runs through the compute worker (issue 11): a GPT-2-small-shaped folder, a
 * first run of a prompt to block 5 with the top-5 prediction, then what the panel does next -- move
 * the block slider, toggle an ablation, clear it -- each timed to the worker's answer. The worker
 * keeps the model (weights within the budget) and the residual stream at every block of the prompt.
 * Target: a block switch or an ablation toggle answers in < 150 ms.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ModelRunRequest } from '../src/protocol/model';
import { ComputeClient } from '../src/worker/client';
import { gpt2Config, gpt2SmallTensors, writeModelFolder } from './modelFiles';
import { fmtMs, median } from './shapes';

const TEXT_IDS = Array.from({ length: 24 }, (_, i) => (i * 7919) % 50000);

export async function heldModelSection(worker: string, work: string, log: (s?: string) => void): Promise<void> {
  const dir = path.join(work, 'gpt2-held');
  await writeModelFolder(dir, gpt2Config(), gpt2SmallTensors());
  const client = new ComputeClient(worker, { threads: 2 });
  try {
    const req = (layer: number, ablate?: number[]): ModelRunRequest => ({
      model: dir,
      input: { kind: 'ids', ids: TEXT_IDS },
      layer,
      predict: 5,
      ablate,
      memoryBudgetBytes: 2048 * 1024 * 1024,
    });
    const time = async (r: ModelRunRequest): Promise<number> => {
      const t0 = performance.now();
      await client.runModel(r);
      return performance.now() - t0;
    };
    const cold = await time(req(5));
    const warm = await time(req(5));
    const switches: number[] = [];
    const toggles: number[] = [];
    for (let i = 0; i < 5; i++) {
      switches.push(await time(req(6 + (i % 3))));
      toggles.push(await time(req(8, [i, 100 + i])));
      toggles.push(await time(req(8)));
    }
    log('## The panel\'s model runs through the compute worker (GPT-2-small-shaped folder, 24 tokens, top-5 prediction)');
    log();
    log('| step | time to the worker\'s answer | target |');
    log('|---|---|---|');
    log(`| first run of the prompt (opens the model, reads every block) | ${fmtMs(cold)} | - |`);
    log(`| the same request again (every weight held) | ${fmtMs(warm)} | - |`);
    log(`| block slider moved (one block from the cached residual, then the blocks after it to predict): median of 5 | ${fmtMs(median(switches))} (max ${fmtMs(Math.max(...switches))}) | < 150 ms |`);
    log(`| ablation toggled on or off (blocks from the ablated one on, twice): median of 10 | ${fmtMs(median(toggles))} (max ${fmtMs(Math.max(...toggles))}) | < 150 ms |`);
    log();
  } finally {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
