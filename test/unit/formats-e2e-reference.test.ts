/**
 * One FFN layer, every file format. The same float64 weights (chosen here, math layout) are written
 * as JSON, safetensors (GPT-2 Conv1D names, LLaMA gate/up/down names, F32/F16/BF16, sharded), npz
 * (our writer and numpy's own np.savez / np.savez_compressed) and GGUF (llama.cpp names; F32, F16,
 * and Q8_0 / Q4_0 blocks built here from chosen scales and quants). For each file the BUILT CLI's
 * `run --json --full` must match the independent float64 reference, run on exactly the values the
 * file holds (f16/bf16-rounded, dequantised), and `inspect --json` must list the right layers with
 * the activation taken from the right place: the file's own key, a config.json beside it, or GGUF
 * `general.architecture`.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { bf16Bits, f16Bits, npyBytes, npzBytes, safetensorsBytes, tempDir, writeShardedSafetensors, type StTensor } from '../helpers/binaryWriters';
import { GGML_TYPE, buildGguf, f16Bits as ggufF16Bits, tensorF16, tensorF32, type KvValue, type WriterTensor } from '../helpers/ggufWriter';
import { writeJsonLayer } from '../helpers/jsonFixtures';
import { hasNumpy, numpySavez, type NumpyHeader } from '../helpers/numpyWriter';
import { assertRunMatchesReference, gaussian, randomMatrix, referenceFfn, type RefWeights } from '../helpers/reference';
import { CLI, buildCliOnce } from '../helpers/cli';

// ---- the CLI, built once per mocha process (as test/unit/cli-run.test.ts does) ----


/** Runs the CLI; expects exit 0, an empty stderr and one JSON document on stdout. */
function cliJson<T>(...args: string[]): T {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.strictEqual(r.status, 0, `exit status (stderr: ${r.stderr})`);
  assert.strictEqual(r.stderr, '', 'no warnings');
  assert.strictEqual(r.stdout.trim().split('\n').length, 1, 'one line of JSON');
  return JSON.parse(r.stdout) as T;
}

interface RunDoc {
  format: string;
  layer: string;
  activation: string;
  dModel: number;
  dFf: number;
  tokens: string[];
  output: number[][];
  preActivation: number[][];
  hidden: number[][];
  perToken: { token: string; sparsity: number; norms: Record<'input' | 'expanded' | 'filtered' | 'output', number>; topNeurons: { index: number; value: number; score: number }[] }[];
  neurons: { dead: number[]; firingRate: number[] };
  sparsity: number;
}

interface InspectDoc {
  format: string;
  tensors: { name: string; dtype: string; shape: number[]; stats: Record<string, number> | null }[];
  layers: { id: string; kind: string; activation: string; dModel: number; dFf: number }[];
  layersError?: string;
}

// ---- matrices ----

type M = number[][];
const transpose = (m: M): M => m[0].map((_, j) => m.map((row) => row[j]));
const mapM = (m: M, f: (x: number) => number): M => m.map((row) => row.map(f));
const f32 = (m: M): M => mapM(m, Math.fround);
const vec = (rand: () => number, n: number): number[] => f32(randomMatrix(rand, 1, n))[0];

/** IEEE half bits -> value, from the format's definition (independent of src/core/dtype.ts). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits -> value: they are the high half of a float32. */
function bf16Value(b: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, (b << 16) >>> 0);
  return dv.getFloat32(0);
}

/** What a file of `dtype` holds for `w`: the same weights rounded by the writer, decoded here. */
function roundedAs(dtype: 'F32' | 'F16' | 'BF16', w: RefWeights, toBits: (x: number) => number = dtype === 'F16' ? f16Bits : bf16Bits): RefWeights {
  if (dtype === 'F32') return w;
  const r = (x: number): number => (dtype === 'F16' ? halfValue(toBits(x)) : bf16Value(toBits(x)));
  const out: RefWeights = { w1: mapM(w.w1, r), w2: mapM(w.w2, r) };
  if (w.wGate) out.wGate = mapM(w.wGate, r);
  if (w.b1) out.b1 = w.b1.map(r);
  if (w.b2) out.b2 = w.b2.map(r);
  return out;
}

// ---- the weights (math layout: w1 / wGate [D x F], w2 [F x D]) ----

const D = 8;
const F = 32;
const TOKENS = ['the', 'quick', 'brown', 'fox'];
const rand = gaussian(20261126);
const LAYER = { w1: f32(randomMatrix(rand, D, F)), wGate: f32(randomMatrix(rand, D, F)), w2: f32(randomMatrix(rand, F, D, 0.5)), b1: vec(rand, F), b2: vec(rand, D) };
const OTHER = { w1: f32(randomMatrix(rand, D, F)), w2: f32(randomMatrix(rand, F, D, 0.5)), b1: vec(rand, F), b2: vec(rand, D) };
const INPUTS = f32(randomMatrix(rand, TOKENS.length, D));
/** Plain layers run with both biases; gated (LLaMA) layers have none, as real LLaMA checkpoints. */
const PLAIN: RefWeights = { w1: LAYER.w1, b1: LAYER.b1, w2: LAYER.w2, b2: LAYER.b2 };
const GATED: RefWeights = { w1: LAYER.w1, wGate: LAYER.wGate, w2: LAYER.w2 };

// Quantised GGUF rows must be whole 32-element blocks, so those files use d_model 32, d_ff 64.
const QD = 32;
const QF = 64;
const INPUTS_Q = f32(randomMatrix(rand, TOKENS.length, QD));

/** The CLI's defaults that the reference must use too (core/analyze.ts: DEFAULT_TOP_K, DEFAULT_SMOOTH_THRESHOLD). */
const TOP_K = 5;
const SMOOTH_THRESHOLD = 0.01;

// ---- writers per naming convention ----

/** GPT-2 Conv1D: `h.N.mlp.c_fc.weight` [D, F] and `c_proj.weight` [F, D] are stored [in, out]. */
function gpt2Tensors(prefix: string, w: RefWeights, dtype: string): StTensor[] {
  return [
    { name: `${prefix}c_fc.weight`, dtype, shape: [D, F], values: w.w1.flat() },
    { name: `${prefix}c_fc.bias`, dtype, shape: [F], values: w.b1! },
    { name: `${prefix}c_proj.weight`, dtype, shape: [F, D], values: w.w2.flat() },
    { name: `${prefix}c_proj.bias`, dtype, shape: [D], values: w.b2! },
  ];
}

/** LLaMA (torch nn.Linear, [out, in]): gate_proj / up_proj [F, D], down_proj [D, F]. */
function llamaTensors(prefix: string, w: RefWeights, dtype: string): StTensor[] {
  return [
    { name: `${prefix}gate_proj.weight`, dtype, shape: [F, D], values: transpose(w.wGate!).flat() },
    { name: `${prefix}up_proj.weight`, dtype, shape: [F, D], values: transpose(w.w1).flat() },
    { name: `${prefix}down_proj.weight`, dtype, shape: [D, F], values: transpose(w.w2).flat() },
  ];
}

/** GPT-2 attention and embeddings beside the MLP: the finder must leave them alone (a lone c_proj is attention). */
const GPT2_DISTRACTORS: StTensor[] = [
  { name: 'wte.weight', dtype: 'F32', shape: [16, D], values: f32(randomMatrix(rand, 16, D)).flat() },
  { name: 'h.0.attn.c_attn.weight', dtype: 'F32', shape: [D, 3 * D], values: f32(randomMatrix(rand, D, 3 * D)).flat() },
  { name: 'h.0.attn.c_proj.weight', dtype: 'F32', shape: [D, D], values: f32(randomMatrix(rand, D, D)).flat() },
];

const writeJson = (file: string, value: unknown): void => fs.writeFileSync(file, JSON.stringify(value, null, 2));

/** A .npy of `<f4` values (a matrix or a vector). */
const npyF4 = (values: M | number[]): Uint8Array =>
  npyBytes({ descr: '<f4', shape: Array.isArray(values[0]) ? [values.length, (values[0] as number[]).length] : [values.length], values: (values as (number | number[])[]).flat() });

const str = (value: string): KvValue => ({ type: 'string', value });
const u32 = (value: number): KvValue => ({ type: 'uint32', value });

/** llama.cpp names and dims: ne[0] is the fastest, so ffn_up / ffn_gate are ne [D, F] holding [F][D] rows. */
function ggufLlama(w: RefWeights, tensor: typeof tensorF32): Uint8Array {
  return buildGguf({
    kv: [['general.architecture', str('llama')], ['general.name', str('tiny-llama')], ['llama.embedding_length', u32(D)], ['llama.feed_forward_length', u32(F)]],
    tensors: [
      tensorF32('token_embd.weight', [D, 16], f32(randomMatrix(rand, 16, D)).flat()),
      tensorF32('blk.0.attn_norm.weight', [D], vec(rand, D)),
      tensor('blk.0.ffn_gate.weight', [D, F], transpose(w.wGate!).flat()),
      tensor('blk.0.ffn_up.weight', [D, F], transpose(w.w1).flat()),
      tensor('blk.0.ffn_down.weight', [F, D], transpose(w.w2).flat()),
    ],
  }).bytes;
}

/** The scales the quantised blocks use: exact in f16, so the dequantised values are exact. */
const SCALES = { Q8_0: [1 / 256, 1 / 128, 3 / 512, 1 / 64], Q4_0: [1 / 16, 1 / 8, 3 / 32, 1 / 32] } as const;
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/**
 * A [rows x cols] tensor in ggml blocks of 32 along each row, from chosen scales and quants, and its
 * dequantised values worked out from the block formulas: block_q8_0 = f16 d + 32 int8 q, value q*d;
 * block_q4_0 = f16 d + 16 bytes, byte j holding element j (low nibble) and j+16 (high), value (q-8)*d.
 */
function quantised(kind: 'Q8_0' | 'Q4_0', rows: number, cols: number, next: () => number): { data: Uint8Array; values: M } {
  const blockBytes = kind === 'Q8_0' ? 34 : 18;
  const data = new Uint8Array((rows * cols / 32) * blockBytes);
  const dv = new DataView(data.buffer);
  const values: M = [];
  let block = 0;
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let c = 0; c < cols; c += 32, block++) {
      const at = block * blockBytes;
      const d = SCALES[kind][block % 4];
      assert.strictEqual(halfValue(ggufF16Bits(d)), d, `scale ${d} is exact in f16`);
      dv.setUint16(at, ggufF16Bits(d), true);
      const q = Array.from({ length: 32 }, () => (kind === 'Q8_0' ? clamp(Math.round(next() * 40), -127, 127) : clamp(Math.round(next() * 3) + 8, 0, 15)));
      if (kind === 'Q8_0') q.forEach((v, i) => dv.setInt8(at + 2 + i, v));
      else for (let i = 0; i < 16; i++) data[at + 2 + i] = q[i] | (q[i + 16] << 4);
      row.push(...q.map((v) => (kind === 'Q8_0' ? v * d : (v - 8) * d)));
    }
    values.push(row);
  }
  return { data, values };
}

/** A GGUF llama layer of d_model QD, d_ff QF in `kind` blocks; returns the file and the dequantised math-layout weights. */
function ggufQuantised(kind: 'Q8_0' | 'Q4_0'): { bytes: Uint8Array; weights: RefWeights } {
  const next = gaussian(kind === 'Q8_0' ? 808 : 404);
  const gate = quantised(kind, QF, QD, next); // ne [QD, QF]: QF rows of QD
  const up = quantised(kind, QF, QD, next);
  const down = quantised(kind, QD, QF, next); // ne [QF, QD]: QD rows of QF
  const t = (name: string, ne: number[], q: { data: Uint8Array }): WriterTensor => ({ name, ne, type: GGML_TYPE[kind], data: q.data });
  const bytes = buildGguf({
    kv: [['general.architecture', str('llama')], ['general.file_type', u32(kind === 'Q8_0' ? 7 : 2)]],
    tensors: [t('blk.0.ffn_gate.weight', [QD, QF], gate), t('blk.0.ffn_up.weight', [QD, QF], up), t('blk.0.ffn_down.weight', [QF, QD], down)],
  }).bytes;
  return { bytes, weights: { wGate: transpose(gate.values), w1: transpose(up.values), w2: transpose(down.values) } };
}

// ---- the fixtures ----

interface Fixture {
  name: string;
  /** The file the CLI opens, relative to the fixture's own folder. */
  file: string;
  format: string;
  /** [id, kind, activation, dModel, dFf] of every layer `inspect` must list, in order. */
  layers: [string, 'plain' | 'gated', string, number, number][];
  /** The layer `run` takes (`--layer`; default the first), its activation and the values the file holds for it. */
  run: { layer?: string; activation: string; weights: RefWeights; quantised?: boolean };
  /** dtypes `inspect` must report for some tensors. */
  dtypes?: Record<string, string>;
  /** More files of the same model that `inspect` must show the same way (another shard). */
  alsoInspect?: string[];
  numpy?: boolean;
  /** Writes the file(s) into `dir`; may return what numpy wrote into the headers. */
  write(dir: string): void | Record<string, NumpyHeader>;
}

const gpt2Config = (act: string): Record<string, unknown> => ({ model_type: 'gpt2', hidden_act: act, n_embd: D, n_inner: F, n_layer: 2 });
const llamaConfig = (modelType: string, act?: string): Record<string, unknown> => ({
  model_type: modelType, hidden_size: D, intermediate_size: F, num_hidden_layers: 1, ...(act ? { hidden_act: act } : {}),
});

const gguf16 = roundedAs('F16', GATED, ggufF16Bits);
const q8 = ggufQuantised('Q8_0');
const q4 = ggufQuantised('Q4_0');

const FIXTURES: Fixture[] = [
  {
    name: 'JSON W1/W2 with an "activation": "gelu" key',
    file: 'layer.json', format: 'json',
    layers: [['main', 'plain', 'gelu', D, F]],
    run: { activation: 'gelu', weights: PLAIN },
    write: (dir) => void writeJsonLayer(dir, 'W1/W2', PLAIN, { dModel: D, dFf: F, activation: 'gelu', fileName: 'layer.json' }),
  },
  {
    name: 'safetensors F32, GPT-2 Conv1D names, two layers, config.json hidden_act gelu_new',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['h.0.mlp', 'plain', 'gelu_tanh', D, F], ['h.1.mlp', 'plain', 'gelu_tanh', D, F]],
    run: { layer: 'h.1.mlp', activation: 'gelu_tanh', weights: OTHER },
    write: (dir) => {
      fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes([...GPT2_DISTRACTORS, ...gpt2Tensors('h.0.mlp.', PLAIN, 'F32'), ...gpt2Tensors('h.1.mlp.', OTHER, 'F32')], { format: 'pt' }));
      writeJson(path.join(dir, 'config.json'), gpt2Config('gelu_new'));
    },
  },
  {
    // The same tensors: only config.json differs, so the activation can only have come from it.
    name: 'safetensors F32, GPT-2 names, config.json hidden_act relu',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['h.0.mlp', 'plain', 'relu', D, F], ['h.1.mlp', 'plain', 'relu', D, F]],
    run: { activation: 'relu', weights: PLAIN },
    write: (dir) => {
      fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes([...GPT2_DISTRACTORS, ...gpt2Tensors('h.0.mlp.', PLAIN, 'F32'), ...gpt2Tensors('h.1.mlp.', OTHER, 'F32')]));
      writeJson(path.join(dir, 'config.json'), gpt2Config('relu'));
    },
  },
  {
    name: 'safetensors F32, LLaMA gate/up/down names, config.json model_type llama',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['model.layers.0.mlp', 'gated', 'swiglu', D, F]],
    run: { activation: 'swiglu', weights: GATED },
    write: (dir) => {
      fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(llamaTensors('model.layers.0.mlp.', GATED, 'F32')));
      writeJson(path.join(dir, 'config.json'), llamaConfig('llama', 'silu'));
    },
  },
  {
    // gate/up/down names alone mean swiglu; model_type gemma (with no activation key) must win.
    name: 'safetensors F32, gate/up/down names, config.json model_type gemma',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['model.layers.0.mlp', 'gated', 'geglu_tanh', D, F]],
    run: { activation: 'geglu_tanh', weights: GATED },
    write: (dir) => {
      fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(llamaTensors('model.layers.0.mlp.', GATED, 'F32')));
      writeJson(path.join(dir, 'config.json'), llamaConfig('gemma'));
    },
  },
  {
    name: 'safetensors F16, GPT-2 names (reference on the f16-rounded weights)',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['h.0.mlp', 'plain', 'gelu_tanh', D, F]],
    run: { activation: 'gelu_tanh', weights: roundedAs('F16', PLAIN) },
    dtypes: { 'h.0.mlp.c_fc.weight': 'F16', 'h.0.mlp.c_proj.bias': 'F16' },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(gpt2Tensors('h.0.mlp.', PLAIN, 'F16'))),
  },
  {
    name: 'safetensors BF16, LLaMA names (reference on the bf16-rounded weights)',
    file: 'model.safetensors', format: 'safetensors',
    layers: [['model.layers.0.mlp', 'gated', 'swiglu', D, F]],
    run: { activation: 'swiglu', weights: roundedAs('BF16', GATED) },
    dtypes: { 'model.layers.0.mlp.down_proj.weight': 'BF16' },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(llamaTensors('model.layers.0.mlp.', GATED, 'BF16'))),
  },
  {
    name: 'sharded safetensors: the layer split over two shards through model.safetensors.index.json',
    file: 'model.safetensors.index.json', format: 'safetensors',
    layers: [['model.layers.0.mlp', 'gated', 'swiglu', D, F]],
    run: { activation: 'swiglu', weights: GATED },
    alsoInspect: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
    write: (dir) => {
      const [gate, up, down] = llamaTensors('model.layers.0.mlp.', GATED, 'F32');
      writeShardedSafetensors(dir, 'model', [[gate, up], [down]], { total_size: 3 * D * F * 4 });
    },
  },
  {
    name: 'npz stored (W1.npy, b1.npy, W2.npy, b2.npy) by the repo writer',
    file: 'layer.npz', format: 'npz',
    layers: [['main', 'plain', 'relu', D, F]],
    run: { activation: 'relu', weights: PLAIN },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'layer.npz'), npzBytes({ W1: npyF4(PLAIN.w1), b1: npyF4(PLAIN.b1!), W2: npyF4(PLAIN.w2), b2: npyF4(PLAIN.b2!) }, 0)),
  },
  {
    name: 'npz deflated by the repo writer',
    file: 'layer.npz', format: 'npz',
    layers: [['main', 'plain', 'relu', D, F]],
    run: { activation: 'relu', weights: PLAIN },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'layer.npz'), npzBytes({ W1: npyF4(PLAIN.w1), b1: npyF4(PLAIN.b1!), W2: npyF4(PLAIN.w2), b2: npyF4(PLAIN.b2!) }, 8)),
  },
  ...([false, true] as const).map((compressed): Fixture => ({
    name: `npz by numpy's ${compressed ? 'np.savez_compressed' : 'np.savez'}: W1 Fortran-order, W2 big-endian, f8 biases`,
    file: 'layer.npz', format: 'npz', numpy: true,
    layers: [['main', 'plain', 'relu', D, F]],
    run: { activation: 'relu', weights: PLAIN },
    dtypes: { W1: '<f4', W2: '>f4', b1: '<f8', b2: '>f8' },
    write: (dir) =>
      numpySavez(path.join(dir, 'layer.npz'), {
        W1: { values: PLAIN.w1, dtype: '<f4', fortran: true },
        b1: { values: PLAIN.b1!, dtype: '<f8' },
        W2: { values: PLAIN.w2, dtype: '>f4' },
        b2: { values: PLAIN.b2!, dtype: '>f8' },
      }, compressed),
  })),
  {
    name: 'GGUF F32, llama.cpp names, general.architecture llama',
    file: 'model.gguf', format: 'gguf',
    layers: [['blk.0', 'gated', 'swiglu', D, F]],
    run: { activation: 'swiglu', weights: GATED },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.gguf'), ggufLlama(GATED, tensorF32)),
  },
  {
    name: 'GGUF F16, llama.cpp names (reference on the f16-rounded weights)',
    file: 'model.gguf', format: 'gguf',
    layers: [['blk.0', 'gated', 'swiglu', D, F]],
    run: { activation: 'swiglu', weights: gguf16 },
    dtypes: { 'blk.0.ffn_up.weight': 'F16', 'blk.0.attn_norm.weight': 'F32' },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.gguf'), ggufLlama(GATED, tensorF16)),
  },
  {
    // ffn_up/ffn_down alone would default to relu: gpt2 must come from general.architecture.
    name: 'GGUF F32, GPT-2 (blk.0.ffn_up/ffn_down with biases), general.architecture gpt2',
    file: 'model.gguf', format: 'gguf',
    layers: [['blk.0', 'plain', 'gelu_tanh', D, F]],
    run: { activation: 'gelu_tanh', weights: PLAIN },
    write: (dir) =>
      void fs.writeFileSync(path.join(dir, 'model.gguf'), buildGguf({
        kv: [['general.architecture', str('gpt2')], ['gpt2.embedding_length', u32(D)]],
        tensors: [
          tensorF32('blk.0.attn_qkv.weight', [D, 3 * D], f32(randomMatrix(rand, 3 * D, D)).flat()),
          tensorF32('blk.0.ffn_up.weight', [D, F], transpose(PLAIN.w1).flat()),
          tensorF32('blk.0.ffn_up.bias', [F], PLAIN.b1!),
          tensorF32('blk.0.ffn_down.weight', [F, D], transpose(PLAIN.w2).flat()),
          tensorF32('blk.0.ffn_down.bias', [D], PLAIN.b2!),
        ],
      }).bytes),
  },
  {
    name: 'GGUF Q8_0 blocks (reference on the dequantised values q*d)',
    file: 'model.gguf', format: 'gguf',
    layers: [['blk.0', 'gated', 'swiglu', QD, QF]],
    run: { activation: 'swiglu', weights: q8.weights, quantised: true },
    dtypes: { 'blk.0.ffn_gate.weight': 'Q8_0', 'blk.0.ffn_down.weight': 'Q8_0' },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.gguf'), q8.bytes),
  },
  {
    name: 'GGUF Q4_0 blocks (reference on the dequantised values (q-8)*d)',
    file: 'model.gguf', format: 'gguf',
    layers: [['blk.0', 'gated', 'swiglu', QD, QF]],
    run: { activation: 'swiglu', weights: q4.weights, quantised: true },
    dtypes: { 'blk.0.ffn_up.weight': 'Q4_0', 'blk.0.ffn_down.weight': 'Q4_0' },
    write: (dir) => void fs.writeFileSync(path.join(dir, 'model.gguf'), q4.bytes),
  },
];

// ---- the checks ----

function assertMatchesReference(doc: RunDoc, weights: RefWeights, inputs: M, activation: string): void {
  const ref = referenceFfn(weights, inputs, { activation, topK: TOP_K, threshold: /^(relu|reglu)$/.test(activation) ? 0 : SMOOTH_THRESHOLD });
  assertRunMatchesReference(doc, ref, TOKENS);
  // Not trivially passing: the layer writes something on every token.
  ref.perToken.forEach((t, i) => assert.ok(t.norms.output > 0.1, `reference output of token ${i} is not ~0`));
}

describe('formats end to end: one layer in every format against the float64 reference', function () {
  this.timeout(120000);
  let root = '';
  const written = new Map<Fixture, { dir: string; headers?: Record<string, NumpyHeader> }>();
  const inputsFile = (quantised?: boolean): string => path.join(root, quantised ? 'inputs-q.json' : 'inputs.json');

  before(() => {
    buildCliOnce();
    root = tempDir('formats-e2e');
    writeJson(inputsFile(false), { tokens: TOKENS, inputs: INPUTS });
    writeJson(inputsFile(true), { tokens: TOKENS, inputs: INPUTS_Q });
  });
  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** The fixture's folder, written on first use (numpy fixtures skip when numpy is missing). */
  function ensure(ctx: Mocha.Context, f: Fixture): { dir: string; headers?: Record<string, NumpyHeader> } {
    if (f.numpy && !hasNumpy()) ctx.skip();
    let w = written.get(f);
    if (!w) {
      const dir = path.join(root, `f${FIXTURES.indexOf(f)}`);
      fs.mkdirSync(dir);
      w = { dir, headers: f.write(dir) ?? undefined };
      written.set(f, w);
    }
    return w;
  }

  for (const f of FIXTURES) {
    describe(f.name, () => {
      it('run --json --full matches the reference', function () {
        const { dir } = ensure(this, f);
        const args = ['run', path.join(dir, f.file), '--json', '--full', '--inputs', inputsFile(f.run.quantised), ...(f.run.layer ? ['--layer', f.run.layer] : [])];
        const doc = cliJson<RunDoc>(...args);
        const [id, , , dModel, dFf] = f.layers.find((l) => l[0] === (f.run.layer ?? f.layers[0][0]))!;
        assert.deepStrictEqual([doc.format, doc.layer, doc.activation, doc.dModel, doc.dFf], [f.format, id, f.run.activation, dModel, dFf]);
        assert.deepStrictEqual(doc.tokens, TOKENS);
        assertMatchesReference(doc, f.run.weights, f.run.quantised ? INPUTS_Q : INPUTS, f.run.activation);
      });

      it('inspect --json finds the layers with the right activation', function () {
        const { dir, headers } = ensure(this, f);
        for (const file of [f.file, ...(f.alsoInspect ?? [])]) {
          const doc = cliJson<InspectDoc>('inspect', path.join(dir, file), '--json');
          assert.strictEqual(doc.format, f.format, file);
          assert.strictEqual(doc.layersError, undefined, file);
          assert.deepStrictEqual(doc.layers.map((l) => [l.id, l.kind, l.activation, l.dModel, l.dFf]), f.layers, file);
          const byName = new Map(doc.tensors.map((t) => [t.name, t]));
          for (const [name, dtype] of Object.entries(f.dtypes ?? {})) assert.strictEqual(byName.get(name)?.dtype, dtype, `${file}: dtype of ${name}`);
          for (const t of doc.tensors) assert.ok(t.stats && t.stats.nanCount === 0, `${file}: ${t.name} decodes to finite numbers`);
        }
        if (headers) {
          // What numpy itself put in the headers: the Fortran-order and big-endian cases are real.
          assert.strictEqual(headers.W1.fortran_order, true);
          assert.strictEqual(headers.W2.descr, '>f4');
        }
      });
    });
  }
});
