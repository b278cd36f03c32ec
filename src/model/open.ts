/**
 * Opening a whole model: a Hugging Face folder (config.json, model.safetensors or shards with
 * model.safetensors.index.json, tokenizer.json), a `.safetensors` file inside one, or a `.gguf`
 * (vocabulary in its metadata). Only headers are read here; the configuration and every tensor's
 * shape are checked against each other before any weight is. No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import { FfnLensError } from '../core/errors';
import { openGgufSource } from '../formats/gguf';
import { openSafetensorsSource } from '../formats/safetensors';
import type { TensorSource, WeightFormat } from '../formats/source';
import { ConfigFields } from './config';
import { ggufLlamaSpec } from './architectures/ggufLlama';
import { gpt2Spec } from './architectures/gpt2';
import { gptNeoxSpec } from './architectures/gptNeox';
import { llamaSpec } from './architectures/llama';
import { checkModelTensors } from './check';
import { ARCHITECTURES, type ArchName, type ModelSpec } from './spec';
import { ggufTokenizer, GGUF_TOKENIZER_PREFIX, loadFolderTokenizer, type ModelTokenizer } from './tokenizer';

/** A model ready to run: its description, its tensors (headers read) and its tokenizer. */
export interface OpenModel {
  /** What the user gave (folder, file inside it, or .gguf). */
  path: string;
  format: WeightFormat;
  spec: ModelSpec;
  source: TensorSource;
  tokenizer: ModelTokenizer;
  close(): Promise<void>;
}

/** config.json files larger than this are not configs. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Whether `path` names something `openModel` can try: a folder with config.json, or a .gguf. */
export async function looksLikeModel(path: string): Promise<boolean> {
  if (/\.gguf$/i.test(path)) return true;
  try {
    const st = await fs.stat(path);
    const dir = st.isDirectory() ? path : nodePath.dirname(path);
    if (!st.isDirectory() && !/\.safetensors$/i.test(path)) return false;
    await fs.access(nodePath.join(dir, 'config.json'));
    return true;
  } catch {
    return false;
  }
}

/** Opens a model; one FfnLensError naming the file and the problem when it cannot be run. */
export async function openModel(path: string): Promise<OpenModel> {
  if (/\.gguf$/i.test(path)) return openGgufModel(path);
  let st;
  try {
    st = await fs.stat(path);
  } catch {
    throw new FfnLensError('no such file or folder', path);
  }
  const dir = st.isDirectory() ? path : nodePath.dirname(path);
  if (!st.isDirectory() && !/\.safetensors(\.index\.json)?$/i.test(path)) {
    throw new FfnLensError('a model is a folder with config.json and safetensors weights, a .safetensors file inside one, or a .gguf file', path);
  }
  const configPath = nodePath.join(dir, 'config.json');
  const config = await readConfig(configPath);
  const weights = await weightsFile(dir);
  const source = await openSafetensorsSource(weights);
  try {
    const names = new Set(source.tensors.map((t) => t.name));
    const c = new ConfigFields(config, configPath);
    const spec = specFromConfig(c, names);
    checkModelTensors(spec, source, configPath);
    const tokenizer = await loadFolderTokenizer(dir, spec.vocabSize);
    return { path, format: 'safetensors', spec, source, tokenizer, close: () => source.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}

function specFromConfig(c: ConfigFields, names: ReadonlySet<string>): ModelSpec {
  const type = c.string('model_type');
  if (type === undefined) throw new FfnLensError('config.json has no model_type, so the architecture is unknown (FFN Lens never guesses it)', c.file);
  if (!(ARCHITECTURES as readonly string[]).includes(type)) {
    throw new FfnLensError(`architecture "${type}" is not supported for whole-model runs (supported: ${ARCHITECTURES.join(', ')})`, c.file);
  }
  const arch = type as ArchName;
  switch (arch) {
    case 'gpt2':
      return gpt2Spec(c, names);
    case 'gpt_neox':
      return gptNeoxSpec(c, names);
    case 'llama':
    case 'mistral':
    case 'qwen2':
    case 'gemma':
      return llamaSpec(arch, c, names);
  }
}

async function readConfig(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_CONFIG_BYTES) throw new FfnLensError(`is ${st.size} bytes, too large for a config.json`, file);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof FfnLensError) throw e;
    throw new FfnLensError('not found: a model folder needs its config.json', file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FfnLensError(`is not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FfnLensError('must hold a JSON object', file);
  return parsed as Record<string, unknown>;
}

/** The folder's weights: the shard index, model.safetensors, or its one .safetensors file. */
async function weightsFile(dir: string): Promise<string> {
  const entries = await fs.readdir(dir);
  if (entries.includes('model.safetensors.index.json')) return nodePath.join(dir, 'model.safetensors.index.json');
  if (entries.includes('model.safetensors')) return nodePath.join(dir, 'model.safetensors');
  const single = entries.filter((e) => /\.safetensors$/i.test(e));
  if (single.length === 1) return nodePath.join(dir, single[0]);
  const pickle = entries.find((e) => /\.(bin|pt|pth|ckpt)$/i.test(e));
  throw new FfnLensError(
    single.length > 1
      ? `holds ${single.length} .safetensors files and no model.safetensors.index.json saying which are the model's`
      : `has no model.safetensors${pickle ? ` (only ${pickle}: pickle checkpoints are never loaded, as they can run code; convert it to safetensors)` : ''}`,
    dir,
  );
}

async function openGgufModel(path: string): Promise<OpenModel> {
  const source = await openGgufSource(path, { fullArrayPrefixes: [GGUF_TOKENIZER_PREFIX] });
  try {
    const names = new Set(source.tensors.map((t) => t.name));
    const embed = source.tensors.find((t) => t.name === 'token_embd.weight');
    const spec = ggufLlamaSpec(source.metadata, path, names, embed?.shape);
    checkModelTensors(spec, source, path);
    const tokenizer = ggufTokenizer(source.metadata as Record<string, unknown>, path);
    return { path, format: 'gguf', spec, source, tokenizer, close: () => source.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}
