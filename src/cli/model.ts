/**
 * The whole-model commands: `tokenize <model>` and `run <model> --text/--text-file/--ids --layer L`.
 * They open the model through src/model and run on the same engine as every other run.
 * No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { npyBytes } from '../formats/npyWriter';
import { FfnLensError } from '../core/errors';
import { openModel } from '../model/open';
import { runModel } from '../pipeline/runModel';
import { engineName } from '../pipeline/engineRun';
import type { ModelInput, ModelRunResult } from '../protocol/model';
import type { RunModelCommand, TextOrIds, TokenizeCommand } from './args';
import { createCliEngine } from './engine';
import { modelRunToJson, tokenizeToJson } from './modelJson';
import { fmt, renderTable } from './table';
import { runToText } from './text';
import type { CliIo } from './main';

/** Text files larger than this are refused before reading (a prompt, not a corpus). */
const MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024;

/** The text or ids of a command, a --text-file read here. */
export async function modelInput(input: TextOrIds): Promise<ModelInput> {
  if (input.kind !== 'textFile') return input;
  let size: number;
  try {
    size = (await fs.stat(input.path)).size;
  } catch {
    throw new FfnLensError('cannot read the text file (no such file)', input.path);
  }
  if (size > MAX_TEXT_FILE_BYTES) throw new FfnLensError(`is ${size} bytes: a prompt file is at most ${MAX_TEXT_FILE_BYTES}`, input.path);
  return { kind: 'text', text: await fs.readFile(input.path, 'utf8') };
}

export async function tokenizeCommand(cmd: TokenizeCommand, io: CliIo): Promise<void> {
  const input = await modelInput(cmd.input);
  if (input.kind !== 'text') throw new FfnLensError('tokenize takes text', cmd.model, 'usage');
  const model = await openModel(cmd.model);
  try {
    const e = model.tokenizer.encode(input.text);
    if (cmd.json) {
      io.stdout(JSON.stringify(tokenizeToJson(e)) + '\n');
      return;
    }
    const rows = e.ids.map((id, i) => [String(i), String(id), JSON.stringify(model.tokenizer.display(id)), `${e.offsets[i][0]}-${e.offsets[i][1]}`]);
    io.stdout(`${model.path}: ${e.ids.length} tokens (${model.tokenizer.kind} tokenizer)\n\n` + renderTable([{ title: '#', align: 'right' }, { title: 'id', align: 'right' }, { title: 'token' }, { title: 'chars' }], rows) + '\n');
  } finally {
    await model.close();
  }
}

export async function runModelCommand(cmd: RunModelCommand, io: CliIo): Promise<void> {
  const input = await modelInput(cmd.input);
  const engine = createCliEngine(cmd.engine);
  let result: ModelRunResult;
  try {
    await engine.ready();
    result = await runModel(
      { model: cmd.model, input, layer: cmd.layer, predict: cmd.predict, ablate: cmd.ablate, truncate: cmd.truncate, topK: cmd.topK, threshold: cmd.threshold },
      engine,
    );
  } finally {
    await engine.dispose();
  }
  for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
  if (cmd.npy) for (const f of await writeActivations(cmd.npy, result)) io.stderr(`wrote ${f}\n`);
  if (cmd.json) {
    io.stdout(JSON.stringify(modelRunToJson(result, cmd.full, engineName(engine))) + '\n');
    return;
  }
  io.stdout(modelRunToText(result));
}

/** The layer's table with tokens shown as text, then the predictions. */
function modelRunToText(r: ModelRunResult): string {
  const shown: ModelRunResult = {
    ...r,
    analysis: { ...r.analysis, perToken: r.analysis.perToken.map((t, i) => ({ ...t, token: JSON.stringify(r.tokenText[i]) })) },
  };
  const head = `model: ${r.file} (${r.architecture}, ${r.blocks} blocks)  block ${r.layer.index} of ${r.blocks}: its FFN on the real input\n`;
  const parts = [head + runToText(shown)];
  const table = (title: string, next: NonNullable<ModelRunResult['next']>): string =>
    `${title}\n` + renderTable([{ title: 'id', align: 'right' }, { title: 'token' }, { title: 'p', align: 'right' }], next.map((t) => [String(t.id), JSON.stringify(t.text), fmt(t.prob)])) + '\n';
  if (r.nextBaseline) parts.push(table('next token, baseline:', r.nextBaseline));
  if (r.next) parts.push(table(r.ablated ? `next token with units ${r.ablated.join(', ')} of block ${r.layer.index} ablated:` : 'next token:', r.next));
  return parts.join('\n');
}

/** The traced block's arrays as .npy files in `dir` (created if needed; existing files are never replaced). */
async function writeActivations(dir: string, r: ModelRunResult): Promise<string[]> {
  const T = r.tokens.length;
  const arrays: [string, Float32Array, number][] = [
    ['residual', r.residual, r.dModel],
    ['input', r.input, r.dModel],
    [r.up ? 'gate' : 'preActivation', r.preActivation, r.dFf],
    ...(r.up ? [['up', r.up, r.dFf] as [string, Float32Array, number]] : []),
    ['hidden', r.hidden, r.dFf],
    ['output', r.output, r.dModel],
  ];
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, data, width] of arrays) {
    const file = path.join(dir, `${name}.npy`);
    try {
      await fs.writeFile(file, npyBytes(data, [T, width]), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new FfnLensError('already exists: --npy never replaces a file (give an empty folder)', file);
      throw e;
    }
    written.push(file);
  }
  return written;
}
