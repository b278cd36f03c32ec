/**
 * Issue 14's `compare` through the built command line. One tiny LLaMA saved in float32, in float16
 * and as a Q8_0 GGUF (q and k permuted to interleaved RoPE pairs): compared with itself every
 * measure is exactly zero (or one, for the overlap); against its GGUF float32 conversion the RoPE
 * order does not show up as error; against the F16 and Q8_0 copies every measure matches a float64
 * reference computed here, from the reference forward pass of the rounded (dequantised) weights and
 * the formulas of the issue. Then --weights, and the cases that must fail cleanly.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteBpeTokenizer, HAND_MERGES } from '../helpers/byteBpe';
import { buildCliOnce, runCli } from '../helpers/cli';
import { hfActivation, logSoftmax } from '../helpers/refBlocks';
import { refForward, type RefForward } from '../helpers/refModel';
import { makeTinyModel, quantizeQ8_0, roundModel, writeHfFolder, writeLlamaGguf, type GgufTokenizer, type TinyModel } from '../helpers/tinyModels';

const TEXT = 'hello world, hello whale';

/** IEEE half bits to a number, by the definition. */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Q8_0 bytes back to values: each block of 34 bytes is d (f16) then 32 int8, value = d · q. */
function dequantizeQ8_0(bytes: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / 32; b++) {
    const d = halfValue(view.getUint16(b * 34, true));
    for (let i = 0; i < 32; i++) out[b * 32 + i] = d * view.getInt8(b * 34 + 2 + i);
  }
  return out;
}

/** The model as the Q8_0 GGUF holds it: every matrix but the norms through Q8_0 and back. */
function q8Model(model: TinyModel): TinyModel {
  const tensors = new Map(model.tensors);
  for (const [name, t] of model.tensors) {
    if (t.shape.length < 2 || name.endsWith('norm.weight')) continue;
    tensors.set(name, { shape: t.shape, data: dequantizeQ8_0(quantizeQ8_0(t.data), t.data.length) });
  }
  return { ...model, tensors };
}

interface Expected {
  layers: { outputError: { mean: number; max: number }; hiddenError: { mean: number; max: number }; sparsityA: number; sparsityB: number; topOverlap: number; changed: { index: number; delta: number }[] }[];
  kl: number;
}

const rowErrors = (a: Float64Array, b: Float64Array, T: number, w: number): number[] =>
  Array.from({ length: T }, (_, t) => {
    let num = 0;
    let den = 0;
    for (let i = t * w; i < (t + 1) * w; i++) {
      num += (b[i] - a[i]) ** 2;
      den += a[i] ** 2;
    }
    return Math.sqrt(num / den);
  });
const meanMax = (xs: number[]): { mean: number; max: number } => ({ mean: xs.reduce((s, x) => s + x, 0) / xs.length, max: Math.max(...xs) });
/** Indices of the k largest |h| of one token, ties to the lower index. */
const topK = (h: Float64Array, t: number, dFf: number, k: number): number[] =>
  Array.from({ length: dFf }, (_, i) => i)
    .sort((x, y) => Math.abs(h[t * dFf + y]) - Math.abs(h[t * dFf + x]) || x - y)
    .slice(0, k);

/** The measures from two float64 forward passes. */
function expected(a: RefForward, b: RefForward, T: number, dFf: number, d: number, vocab: number, k: number): Expected {
  const silu = hfActivation('silu');
  const sparsity = (f: RefForward['ffn'][number]): number => (f.gate as Float64Array).filter((g) => Math.abs(silu(g)) <= 0.01).length / (T * dFf);
  const layers = a.ffn.map((fa, l) => {
    const fb = b.ffn[l];
    let overlap = 0;
    for (let t = 0; t < T; t++) {
      const sa = new Set(topK(fa.hidden, t, dFf, k));
      const sb = topK(fb.hidden, t, dFf, k);
      const both = sb.filter((i) => sa.has(i)).length;
      overlap += both / (2 * k - both);
    }
    const delta = Array.from({ length: dFf }, (_, i) => {
      let s = 0;
      for (let t = 0; t < T; t++) s += Math.abs(fb.hidden[t * dFf + i]) - Math.abs(fa.hidden[t * dFf + i]);
      return s / T;
    });
    const changed = delta
      .map((v, index) => ({ index, delta: v }))
      .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.index - y.index)
      .slice(0, k);
    return {
      outputError: meanMax(rowErrors(fa.output, fb.output, T, d)),
      hiddenError: meanMax(rowErrors(fa.hidden, fb.hidden, T, dFf)),
      sparsityA: sparsity(fa),
      sparsityB: sparsity(fb),
      topOverlap: overlap / T,
      changed,
    };
  });
  let kl = 0;
  for (let t = 0; t < T; t++) {
    const la = logSoftmax(a.logits.subarray(t * vocab, (t + 1) * vocab));
    const lb = logSoftmax(b.logits.subarray(t * vocab, (t + 1) * vocab));
    for (let i = 0; i < vocab; i++) kl += Math.exp(la[i]) * (la[i] - lb[i]);
  }
  return { layers, kl: kl / T };
}

const close = (got: number, want: number, rel: number, what: string, abs = 1e-7): void =>
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want) + abs, `${what}: ${got} vs ${want}`);

describe('cli: compare (issue 14)', function () {
  this.timeout(120000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-compare-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { json: tokenizerJson, vocabSize, eot } = byteBpeTokenizer();
  // d_ff 64 and d_model 32: whole Q8_0 blocks along every matrix's rows
  const model = makeTinyModel('llama', { seed: 41, layers: 3, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize, maxPositions: 32 });
  const ggufVocab = (): GgufTokenizer => {
    const vocab = (tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    const tokens: string[] = [];
    for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
    return { model: 'gpt2', tokens, merges: (tokenizerJson.model as { merges: string[] }).merges, tokenTypes: tokens.map((_, id) => (id === eot ? 3 : 1)), bos: eot, eos: eot, addBos: false };
  };
  const folder = (name: string, m: TinyModel, opts: { dtype?: 'F32' | 'F16'; tokenizer?: object | null } = {}): string => {
    const f = path.join(dir, name);
    fs.mkdirSync(f);
    writeHfFolder(f, m, { dtype: opts.dtype, ...(opts.tokenizer === null ? {} : { tokenizerJson: opts.tokenizer ?? tokenizerJson, tokenizerConfig: { add_bos_token: false } }) });
    return f;
  };
  const compare = (...args: string[]): Record<string, any> => {
    const r = runCli('compare', ...args, '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const fails = (code: number, pattern: RegExp, ...args: string[]): void => {
    const r = runCli('compare', ...args);
    assert.strictEqual(r.code, code, `exit status (stderr: ${r.stderr})`);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, /^error: [^\n]+\n$/, 'one error line, no stack');
    assert.match(r.stderr, pattern);
  };
  let f32: string;
  let f16: string;
  let gguf32: string;
  let q8: string;
  let ids: number[];

  before(() => {
    buildCliOnce();
    f32 = folder('f32', model);
    f16 = folder('f16', model, { dtype: 'F16' });
    gguf32 = writeLlamaGguf(path.join(dir, 'f32.gguf'), model, { tensorType: 'F32', tokenizer: ggufVocab() });
    q8 = writeLlamaGguf(path.join(dir, 'q8_0.gguf'), model, { tensorType: 'Q8_0', tokenizer: ggufVocab() });
    const r = runCli('tokenize', f32, '--text', TEXT, '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    ids = JSON.parse(r.stdout).ids;
  });

  it('a model against itself: every error and the KL exactly zero, overlaps one, the same next tokens', () => {
    const doc = compare(f32, f32, '--text', TEXT);
    assert.deepStrictEqual(Object.keys(doc).slice(0, 5), ['tokenIds', 'layers', 'nextA', 'nextB', 'kl']);
    assert.deepStrictEqual(doc.tokenIds, ids);
    assert.strictEqual(doc.layers.length, 3);
    for (const l of doc.layers) {
      assert.deepStrictEqual(Object.keys(l), ['layer', 'outputError', 'hiddenError', 'sparsityA', 'sparsityB', 'topOverlap', 'changed']);
      assert.deepStrictEqual(l.outputError, { mean: 0, max: 0 });
      assert.deepStrictEqual(l.hiddenError, { mean: 0, max: 0 });
      assert.strictEqual(l.sparsityA, l.sparsityB);
      assert.strictEqual(l.topOverlap, 1);
      assert.ok(l.changed.every((c: { delta: number }) => c.delta === 0));
    }
    assert.strictEqual(doc.kl, 0);
    assert.deepStrictEqual(doc.nextA, doc.nextB);
    assert.strictEqual(doc.nextA.length, 5);
    assert.deepStrictEqual(Object.keys(doc.nextA[0]), ['id', 'token', 'prob']);
  });

  it('the folder against its GGUF float32 conversion: the interleaved RoPE order is not an error', () => {
    const doc = compare(f32, gguf32, '--text', TEXT);
    for (const l of doc.layers) {
      assert.ok(l.outputError.max < 1e-5, `block ${l.layer}: ${l.outputError.max}`);
      assert.ok(l.hiddenError.max < 1e-5, `block ${l.layer}: ${l.hiddenError.max}`);
      assert.strictEqual(l.topOverlap, 1);
    }
    assert.ok(doc.kl < 1e-9, `kl ${doc.kl}`);
    assert.deepStrictEqual(doc.nextA.map((t: { id: number }) => t.id), doc.nextB.map((t: { id: number }) => t.id));
  });

  for (const [name, copy, rounded] of [
    ['F16 folder', () => f16, () => roundModel(model, 'F16')],
    ['Q8_0 GGUF', () => q8, () => q8Model(model)],
  ] as const) {
    it(`against the ${name}: every measure matches the float64 reference of the rounded weights`, () => {
      const k = 8;
      const doc = compare(f32, copy(), '--text', TEXT, '--top', String(k));
      const T = ids.length;
      const want = expected(refForward(model, ids), refForward(rounded(), ids), T, 64, 32, vocabSize, k);
      doc.layers.forEach((l: any, i: number) => {
        const w = want.layers[i];
        assert.ok(w.outputError.mean > 1e-5, 'the copy really differs (else this test shows nothing)');
        close(l.outputError.mean, w.outputError.mean, 0.02, `block ${i} outputError.mean`);
        close(l.outputError.max, w.outputError.max, 0.02, `block ${i} outputError.max`);
        close(l.hiddenError.mean, w.hiddenError.mean, 0.02, `block ${i} hiddenError.mean`);
        close(l.hiddenError.max, w.hiddenError.max, 0.02, `block ${i} hiddenError.max`);
        close(l.sparsityA, w.sparsityA, 0, `block ${i} sparsityA`, 2 / (T * 64));
        close(l.sparsityB, w.sparsityB, 0, `block ${i} sparsityB`, 2 / (T * 64));
        close(l.topOverlap, w.topOverlap, 0, `block ${i} topOverlap`, 0.5 / T);
        assert.strictEqual(l.changed.length, k);
        // the largest change is the same unit, by the same amount
        assert.strictEqual(l.changed[0].index, w.changed[0].index, `block ${i} most changed unit`);
        close(l.changed[0].delta, w.changed[0].delta, 0.01, `block ${i} its delta`, 1e-6);
      });
      assert.ok(want.kl > 0);
      close(doc.kl, want.kl, 0.05, 'kl', 1e-9);
    });
  }

  it('--layers picks blocks; --ids runs a folder that has no tokenizer', () => {
    const bare = folder('bare', model, { tokenizer: null });
    const doc = compare(f32, bare, '--ids', ids.join(','), '--layers', '2,0');
    assert.deepStrictEqual(doc.layers.map((l: { layer: number }) => l.layer), [0, 2]);
    assert.deepStrictEqual(doc.tokenIds, ids);
  });

  it('--weights: each FFN matrix of B against A, relative Frobenius difference and most changed units', () => {
    const same = compare(f32, f32, '--weights');
    assert.strictEqual(same.layers.length, 3);
    for (const l of same.layers) {
      assert.deepStrictEqual(l.tensors.map((t: { role: string }) => t.role), ['gate', 'up', 'down']);
      for (const t of l.tensors) assert.strictEqual(t.relativeError, 0);
    }
    // against the Q8_0 GGUF (different names, the same [out, in] layout): the reference from the dequantised weights
    const doc = compare(f32, q8, '--weights', '--layers', '1', '--top', '3');
    const deq = q8Model(model);
    for (const t of doc.layers[0].tensors) {
      const hf = `model.layers.1.mlp.${t.role}_proj.weight`;
      const a = model.tensors.get(hf)!;
      const b = deq.tensors.get(hf)!;
      assert.strictEqual(t.nameA, hf);
      assert.strictEqual(t.nameB, `blk.1.ffn_${t.role}.weight`);
      let num = 0;
      let den = 0;
      a.data.forEach((x, i) => {
        num += (b.data[i] - x) ** 2;
        den += x * x;
      });
      close(t.relativeError, Math.sqrt(num / den), 1e-4, `${t.role} relative error`);
      // units: rows of gate/up [64, 32], columns of down [32, 64]
      const [rows, cols] = a.shape;
      const unitRel = (u: number): number => {
        let n = 0;
        let dd = 0;
        const cells = t.role === 'down' ? Array.from({ length: rows }, (_, r) => r * cols + u) : Array.from({ length: cols }, (_, c) => u * cols + c);
        for (const i of cells) {
          n += (b.data[i] - a.data[i]) ** 2;
          dd += a.data[i] ** 2;
        }
        return Math.sqrt(n / dd);
      };
      const units = t.role === 'down' ? cols : rows;
      const best = Array.from({ length: units }, (_, u) => u).sort((x, y) => unitRel(y) - unitRel(x))[0];
      assert.strictEqual(t.changed[0].index, best, `${t.role}: most changed unit`);
      close(t.changed[0].relative, unitRel(best), 1e-4, `${t.role}: its change`);
    }
  });

  it('models without a shared vocabulary, or of different shapes, fail cleanly', () => {
    // same size, other tokens: the merge (h e) replaced by (w h)
    const other = byteBpeTokenizer([['w', 'h'], ...HAND_MERGES.slice(1)]);
    assert.strictEqual(other.vocabSize, vocabSize);
    const otherDir = folder('other-vocab', model, { tokenizer: other.json });
    fails(2, /do not share a vocabulary: token 256 is "he" in .* but "wh" in /, f32, otherDir, '--text', TEXT);
    const bigger = makeTinyModel('llama', { seed: 41, layers: 3, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize + 1, maxPositions: 32 });
    fails(2, new RegExp(`do not share a vocabulary: .* has ${vocabSize} tokens, .* has ${vocabSize + 1}`), f32, folder('bigger', bigger, { tokenizer: null }), '--ids', '1,2');
    const deeper = makeTinyModel('llama', { seed: 41, layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize, maxPositions: 32 });
    fails(2, /differ in shape: blocks is 3 in .* but 4 in /, f32, folder('deeper', deeper), '--text', TEXT);
  });

  it('mistakes in the command get one clear message', () => {
    fails(2, /compare: expected 2 models, got 1/, f32, '--text', TEXT);
    fails(2, /compare needs the text to run .* or --weights/, f32, f16);
    fails(2, /--weights compares the weights alone/, f32, f16, '--weights', '--text', TEXT);
    fails(2, /--layers 3: the models have blocks 0..2/, f32, f16, '--text', TEXT, '--layers', '3');
    fails(2, /--top needs an integer >= 1/, f32, f16, '--text', TEXT, '--top', '0');
  });
});
