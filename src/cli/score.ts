/**
 * `score <model> (--text S | --text-file F) [--ctx N] [--json]`: the mean next-token loss and
 * perplexity of a model on a text (src/model/score.ts), the check that FFN Lens runs a model as its
 * training code does. No `vscode` import.
 */
import { openModel } from '../model/open';
import { scoreText } from '../model/score';
import { WeightStore } from '../model/store';
import type { ScoreCommand } from './args';
import { createCliEngine } from './engine';
import type { CliIo } from './main';
import { modelInput } from './model';
import { SCAN_KEEP_BYTES } from './neuron';

export async function scoreCommand(cmd: ScoreCommand, io: CliIo): Promise<void> {
  const input = await modelInput(cmd.input);
  const text = input.kind === 'text' ? input.text : '';
  const model = await openModel(cmd.model);
  const engine = createCliEngine(cmd.engine);
  // every window reads every matrix: keep them (within the budget) instead of streaming each time
  const store = new WeightStore(SCAN_KEEP_BYTES, (m) => engine.release(m.prepared?.data ?? m.plain));
  try {
    await engine.ready();
    const r = await scoreText(model, text, { engine, ctx: cmd.ctx, store });
    if (cmd.json) {
      io.stdout(JSON.stringify({ tokens: r.tokens, windows: r.windows, meanLoss: r.meanLoss, perplexity: r.perplexity }) + '\n');
      return;
    }
    io.stdout(
      `${model.path}: ${r.tokens} tokens in ${r.windows} window${r.windows === 1 ? '' : 's'}, ${r.predicted} predicted\n` +
        `mean loss ${r.meanLoss.toFixed(4)} nats/token, perplexity ${r.perplexity.toFixed(3)}\n`,
    );
  } finally {
    store.clear();
    await engine.dispose();
    await model.close();
  }
}
