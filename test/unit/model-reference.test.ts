/**
 * The float64 whole-model reference (test/helpers/refModel.ts) and the tiny models it runs
 * (test/helpers/tinyModels.ts) checked on their own: blocks against hand-worked numbers, a
 * one-layer d = 2 model computed by hand, each family's convention by a property that a wrong
 * convention breaks, causality and ablation. The file writers are checked in
 * model-reference-files.test.ts.
 */
import * as assert from 'assert';
import { hfActivation, logSoftmax, nextTokenLoss, refLayerNorm, refRmsNorm, refRope, ropeInvFreq } from '../helpers/refBlocks';
import { refErf } from '../helpers/reference';
import { refForward, refSpec } from '../helpers/refModel';
import { makeTinyModel, roundToDtype, tensorOf, type Arch, type TinyModel, type TinyTensor } from '../helpers/tinyModels';

const ARCHS: Arch[] = ['gpt2', 'llama', 'mistral', 'qwen2', 'gemma', 'gpt_neox'];
const IDS = [1, 5, 9, 3, 7, 2];

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.strictEqual(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const row = (m: Float64Array, t: number, n: number): Float64Array => m.subarray(t * n, (t + 1) * n);

/** A copy of `model` with some tensors and config keys replaced. */
function variant(model: TinyModel, arch: Arch, config: Record<string, unknown>, tensors: Record<string, TinyTensor | undefined> = {}): TinyModel {
  const map = new Map(model.tensors);
  for (const [name, t] of Object.entries(tensors)) {
    if (t) map.set(name, t);
    else map.delete(name);
  }
  return { arch, config: { ...model.config, ...config }, tensors: map };
}

describe('model reference: blocks', () => {
  it('RMSNorm divides by the root mean square; Gemma scales by 1 + w', () => {
    // [3, 4]: mean square 12.5
    close(refRmsNorm([3, 4], [1, 2], 0), [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], 1e-15);
    close(refRmsNorm([3, 4], [0, 1], 0, true), [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], 1e-15);
    close(refRmsNorm([3, 4], [1, 1], 0.5), [3 / Math.sqrt(13), 4 / Math.sqrt(13)], 1e-15);
  });

  it('LayerNorm centres, divides by the biased standard deviation, then scales and shifts', () => {
    // [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    const s = Math.sqrt(1.25);
    close(refLayerNorm([1, 2, 3, 4], [1, 1, 2, 2], [0, 0, 1, 1], 0), [-1.5 / s, -0.5 / s, 1 / s + 1, 3 / s + 1], 1e-15);
  });

  it('RoPE is the identity at position 0 and turns pair (i, i + d/2) by pos · theta^(-2i/d)', () => {
    const x = [1, 2, 3, 4];
    const inv = ropeInvFreq(4, 100); // [1, 100^(-1/2)]
    close(inv, [1, 0.1], 1e-15);
    close(refRope(x, 0, inv), x, 0);
    const [a, b] = [3, 0.3];
    const expected = [1 * Math.cos(a) - 3 * Math.sin(a), 2 * Math.cos(b) - 4 * Math.sin(b), 3 * Math.cos(a) + 1 * Math.sin(a), 4 * Math.cos(b) + 2 * Math.sin(b)];
    close(refRope(x, 3, inv), expected, 1e-15);
    // Partial rotary (NeoX): two rotated dims turn (x0, x1); the rest pass through.
    close(refRope(x, 3, ropeInvFreq(2, 100)), [Math.cos(3) - 2 * Math.sin(3), 2 * Math.cos(3) + Math.sin(3), 3, 4], 1e-15);
  });

  it('llama3 scaling keeps short wavelengths, divides long ones by factor and blends between', () => {
    // head_dim 8, theta 10000: inv [1, 0.1, 0.01, 0.001], wavelengths 2π/inv ≈ [6.3, 63, 628, 6283];
    // original 64, low 1, high 4: below 64/4 = 16 kept, above 64/1 = 64 divided by 8, 63 blended.
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };
    const smooth = (64 / (2 * Math.PI / 0.1) - 1) / (4 - 1);
    close(ropeInvFreq(8, 10000, scaling), [1, (1 - smooth) * 0.1 / 8 + smooth * 0.1, 0.01 / 8, 0.001 / 8], 1e-14);
    close(ropeInvFreq(8, 10000, { ...scaling, type: 'linear' }), [1 / 8, 0.1 / 8, 0.01 / 8, 0.001 / 8], 1e-14);
  });

  it('activations follow transformers names: gelu is exact, gelu_new / gelu_pytorch_tanh the tanh form', () => {
    const u = 1.3;
    assert.strictEqual(hfActivation('gelu')(u), 0.5 * u * (1 + refErf(u / Math.SQRT2)));
    const tanhForm = 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
    assert.strictEqual(hfActivation('gelu_new')(u), tanhForm);
    assert.strictEqual(hfActivation('gelu_pytorch_tanh')(u), tanhForm);
    assert.ok(Math.abs(hfActivation('gelu')(u) - tanhForm) > 1e-5, 'the two GELUs must be told apart');
    assert.strictEqual(hfActivation('silu')(u), u / (1 + Math.exp(-u)));
  });

  it('logSoftmax subtracts the max; nextTokenLoss averages -log p of each next id', () => {
    close(logSoftmax([0, Math.log(3)]), [-Math.log(4), Math.log(3) - Math.log(4)], 1e-15);
    close(logSoftmax([1000, 1000]), [-Math.LN2, -Math.LN2], 1e-15);
    const logits = Float64Array.from([0, 0, Math.log(3), 0, 0, 0]); // T 2, vocab 3
    assert.ok(Math.abs(nextTokenLoss(logits, 3, [0, 2]) - -Math.log(3 / 5)) < 1e-15);
    const three = Float64Array.from([0, 0, Math.log(3), 0, 0, 0, 5, 5, 5]);
    assert.ok(Math.abs(nextTokenLoss(three, 3, [0, 2, 1]) - (-Math.log(3 / 5) - Math.log(1 / 3)) / 2) < 1e-15);
  });

  it('rounds to storage dtypes as files hold them', () => {
    assert.strictEqual(roundToDtype(Math.sqrt(24), 'BF16'), 4.90625);
    assert.strictEqual(roundToDtype(1 / 3, 'F16'), 0.333251953125);
    assert.strictEqual(roundToDtype(0.1, 'F32'), Math.fround(0.1));
  });
});

describe('model reference: a one-layer d = 2 LLaMA by hand', () => {
  const t = (shape: number[], values: number[]): TinyTensor => ({ shape, data: Float64Array.from(values) });
  const eps = 1e-6;
  const model: TinyModel = {
    arch: 'llama',
    config: {
      model_type: 'llama', hidden_size: 2, intermediate_size: 2, num_attention_heads: 1, num_key_value_heads: 1, num_hidden_layers: 1,
      vocab_size: 3, rms_norm_eps: eps, rope_theta: 10000, hidden_act: 'silu', tie_word_embeddings: false, max_position_embeddings: 8,
    },
    tensors: new Map([
      ['model.embed_tokens.weight', t([3, 2], [3, 4, 1, 0, 0, 2])],
      ['model.layers.0.input_layernorm.weight', t([2], [1, 1])],
      ['model.layers.0.self_attn.q_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['model.layers.0.self_attn.k_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['model.layers.0.self_attn.v_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['model.layers.0.self_attn.o_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['model.layers.0.post_attention_layernorm.weight', t([2], [1, 1])],
      ['model.layers.0.mlp.gate_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['model.layers.0.mlp.up_proj.weight', t([2, 2], [2, 0, 1, 0])], // [out, in]: up = (2 m0, m0)
      ['model.layers.0.mlp.down_proj.weight', t([2, 2], [1, 1, 0, 1])], // out = (h0 + h1, h1)
      ['model.norm.weight', t([2], [1, 1])],
      ['lm_head.weight', t([3, 2], [1, 0, 0, 1, 1, 1])],
    ]),
  };
  const rms = (v: number[]): number[] => v.map((x) => x / Math.sqrt((v[0] ** 2 + v[1] ** 2) / 2 + eps));
  const silu = (x: number): number => x / (1 + Math.exp(-x));

  it('matches attention, SwiGLU and the head worked out by hand', () => {
    const x = [[3, 4], [1, 0]]; // ids [0, 1]
    const n = x.map(rms);
    // Position 0 sees only itself: the attention output is v0 = n0.
    // Position 1: q1 = k1 = n1 turned by 1 rad (head_dim 2, inv_freq [1]); k0 = n0 (position 0).
    const turn = (v: number[]): number[] => [v[0] * Math.cos(1) - v[1] * Math.sin(1), v[1] * Math.cos(1) + v[0] * Math.sin(1)];
    const q1 = turn(n[1]);
    const s0 = (q1[0] * n[0][0] + q1[1] * n[0][1]) / Math.SQRT2;
    const s1 = (q1[0] * q1[0] + q1[1] * q1[1]) / Math.SQRT2;
    const w0 = 1 / (1 + Math.exp(s1 - s0));
    const attn = [n[0], [w0 * n[0][0] + (1 - w0) * n[1][0], w0 * n[0][1] + (1 - w0) * n[1][1]]];
    const h = x.map((xi, i) => [xi[0] + attn[i][0], xi[1] + attn[i][1]]);
    const m = h.map(rms);
    const up = m.map((mi) => [2 * mi[0], mi[0]]);
    const hid = m.map((mi, i) => [silu(mi[0]) * up[i][0], silu(mi[1]) * up[i][1]]);
    const out = hid.map((hi) => [hi[0] + hi[1], hi[1]]);
    const f = h.map((hi, i) => rms([hi[0] + out[i][0], hi[1] + out[i][1]]));

    const r = refForward(model, [0, 1]);
    close(r.residual[0], x.flat(), 0, 'residual');
    close(r.ffn[0].input, m.flat(), 1e-14, 'input');
    close(r.ffn[0].gate!, m.flat(), 1e-14, 'gate');
    close(r.ffn[0].up!, up.flat(), 1e-14, 'up');
    close(r.ffn[0].hidden, hid.flat(), 1e-14, 'hidden');
    close(r.ffn[0].output, out.flat(), 1e-14, 'output');
    close(r.finalHidden, f.flat(), 1e-14, 'final');
    close(r.logits, f.flatMap((fi) => [fi[0], fi[1], fi[0] + fi[1]]), 1e-14, 'logits');
  });
});

describe('model reference: family conventions', () => {
  it('every family runs, deterministic per seed, and causal: a later token never changes an earlier position', () => {
    for (const arch of ARCHS) {
      const model = makeTinyModel(arch);
      assert.deepStrictEqual(makeTinyModel(arch).tensors, model.tensors, `${arch}: seeded`);
      const a = refForward(model, IDS);
      const b = refForward(model, [...IDS.slice(0, -1), 11]);
      const { d, vocab } = refSpec(model);
      const T = IDS.length;
      for (let l = 0; l < a.residual.length; l++) {
        assert.deepStrictEqual(a.residual[l].subarray(0, (T - 1) * d), b.residual[l].subarray(0, (T - 1) * d), `${arch} block ${l}`);
      }
      assert.deepStrictEqual(a.logits.subarray(0, (T - 1) * vocab), b.logits.subarray(0, (T - 1) * vocab), arch);
      assert.ok(maxDiff(row(a.logits, T - 1, vocab), row(b.logits, T - 1, vocab)) > 1e-3, `${arch}: the last position depends on its token`);
      assert.ok(a.logits.every(Number.isFinite), arch);
    }
  });

  it('each pre-FFN and final norm output undoes to unit scale by its own convention', () => {
    const rmsOf = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0) / v.length);
    for (const arch of ARCHS) {
      const model = makeTinyModel(arch);
      const spec = refSpec(model);
      const r = refForward(model, IDS);
      const last = spec.layers - 1;
      const norm2 = arch === 'gpt2' ? `transformer.h.${last}.ln_2` : `${arch === 'gpt_neox' ? 'gpt_neox' : 'model'}.layers.${last}.post_attention_layernorm`;
      const w = tensorOf(model, `${norm2}.weight`).data;
      const b = model.tensors.get(`${norm2}.bias`)?.data;
      for (let t = 0; t < IDS.length; t++) {
        const x = row(r.ffn[last].input, t, spec.d);
        const gains = Array.from(w, (wi) => (spec.norm === 'rms1p' ? 1 + wi : wi));
        const undone = Array.from(x, (xi, i) => (xi - (b ? b[i] : 0)) / gains[i]);
        assert.ok(Math.abs(rmsOf(undone) - 1) < 1e-4, `${arch} t${t}: ${rmsOf(undone)}`);
        if (arch === 'gemma') assert.ok(Math.abs(rmsOf(Array.from(x, (xi, i) => xi / w[i])) - 1) > 0.5, 'gemma: w alone is the wrong gain');
      }
      const final = arch === 'gpt2' ? 'transformer.ln_f' : arch === 'gpt_neox' ? 'gpt_neox.final_layer_norm' : 'model.norm';
      const fw = tensorOf(model, `${final}.weight`).data;
      const fb = model.tensors.get(`${final}.bias`)?.data;
      const y = row(r.finalHidden, 0, spec.d);
      const undone = Array.from(y, (yi, i) => (yi - (fb ? fb[i] : 0)) / (spec.norm === 'rms1p' ? 1 + fw[i] : fw[i]));
      assert.ok(Math.abs(rmsOf(undone) - 1) < 1e-4, `${arch} final: ${rmsOf(undone)}`);
    }
  });

  it('GPT-2 and NeoX apply their activations to the first projection: gelu_new (tanh) and exact gelu', () => {
    const tanhGelu = (u: number): number => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
    const erfGelu = (u: number): number => 0.5 * u * (1 + refErf(u / Math.SQRT2));
    const g = refForward(makeTinyModel('gpt2'), IDS).ffn[0];
    close(g.hidden, g.up!.map(tanhGelu), 1e-15, 'gpt2');
    const n = refForward(makeTinyModel('gpt_neox'), IDS).ffn[0];
    close(n.hidden, n.up!.map(erfGelu), 1e-15, 'neox');
    const m = refForward(makeTinyModel('gemma'), IDS).ffn[0];
    close(m.hidden, m.gate!.map((x, i) => tanhGelu(x) * m.up![i]), 1e-15, 'gemma geglu');
  });

  it('GPT-2 adds the learned position row wpe[t] to the token row wte[id]', () => {
    const model = makeTinyModel('gpt2');
    const wte = tensorOf(model, 'transformer.wte.weight').data;
    const wpe = tensorOf(model, 'transformer.wpe.weight').data;
    const r = refForward(model, IDS);
    IDS.forEach((id, t) => close(row(r.residual[0], t, 16), Array.from({ length: 16 }, (_, i) => wte[id * 16 + i] + wpe[t * 16 + i]), 0, `t${t}`));
  });

  it('GPT-2 c_attn columns are [q | k | v]: at one token only the v columns matter', () => {
    const model = makeTinyModel('gpt2', { layers: 1 });
    const d = 16;
    const w = tensorOf(model, 'transformer.h.0.attn.c_attn.weight');
    const scramble = (from: number, to: number): TinyModel => {
      const data = w.data.slice();
      for (let i = 0; i < d; i++) for (let o = from; o < to; o++) data[i * 3 * d + o] = Math.sin(7 * i + o);
      return variant(model, 'gpt2', {}, { 'transformer.h.0.attn.c_attn.weight': { shape: w.shape, data } });
    };
    const base = refForward(model, [4]).logits;
    assert.ok(maxDiff(refForward(scramble(0, 2 * d), [4]).logits, base) < 1e-12, 'q and k columns do not matter at T = 1');
    assert.ok(maxDiff(refForward(scramble(2 * d, 3 * d), [4]).logits, base) > 1e-3, 'v columns do');
  });

  it('NeoX query_key_value rows are per head [q | k | v]: at one token only each head\'s v rows matter', () => {
    const model = makeTinyModel('gpt_neox', { layers: 1 }); // d 16, 2 heads of 8
    const w = tensorOf(model, 'gpt_neox.layers.0.attention.query_key_value.weight');
    const scramble = (rows: (r: number) => boolean): TinyModel => {
      const data = w.data.map((x, i) => (rows(Math.floor(i / 16)) ? Math.cos(3 * i) : x));
      return variant(model, 'gpt_neox', {}, { 'gpt_neox.layers.0.attention.query_key_value.weight': { shape: w.shape, data } });
    };
    const base = refForward(model, [4]).logits;
    // Rows 0-15 and 24-39 are q/k of heads 0 and 1; a [q; k; v] block layout would read 32-47 as v.
    assert.ok(maxDiff(refForward(scramble((r) => r % 24 < 16), [4]).logits, base) < 1e-12);
    assert.ok(maxDiff(refForward(scramble((r) => r % 24 >= 16), [4]).logits, base) > 1e-3);
  });

  it('NeoX rotates only the first rotary_pct · head_size dims: permuting the pass-through dims of q and k changes nothing', () => {
    const model = makeTinyModel('gpt_neox'); // 2 heads of 8, rotary_pct 0.5: dims 0-3 rotate, 4-7 pass through
    const swapDims = (a: number, b: number): TinyModel => {
      const tensors: Record<string, TinyTensor> = {};
      for (let l = 0; l < 2; l++) {
        for (const kind of ['weight', 'bias']) {
          const name = `gpt_neox.layers.${l}.attention.query_key_value.${kind}`;
          const t = tensorOf(model, name);
          const cols = kind === 'weight' ? 16 : 1;
          const data = t.data.slice();
          for (const rowBase of [0, 8, 24, 32]) { // q and k rows of heads 0 and 1
            data.set(t.data.subarray((rowBase + a) * cols, (rowBase + a + 1) * cols), (rowBase + b) * cols);
            data.set(t.data.subarray((rowBase + b) * cols, (rowBase + b + 1) * cols), (rowBase + a) * cols);
          }
          tensors[name] = { shape: t.shape, data };
        }
      }
      return variant(model, 'gpt_neox', {}, tensors);
    };
    const base = refForward(model, IDS).logits;
    assert.ok(maxDiff(refForward(swapDims(4, 7), IDS).logits, base) < 1e-12, 'pass-through dims commute with the rotation');
    assert.ok(maxDiff(refForward(swapDims(0, 4), IDS).logits, base) > 1e-6, 'a rotated dim does not');
  });

  it('NeoX parallel residual feeds ln2 the block input; sequential feeds it the post-attention stream', () => {
    for (const parallel of [true, false]) {
      const model = makeTinyModel('gpt_neox', { parallelResidual: parallel });
      const r = refForward(model, IDS);
      const w = tensorOf(model, 'gpt_neox.layers.1.post_attention_layernorm.weight').data;
      const b = tensorOf(model, 'gpt_neox.layers.1.post_attention_layernorm.bias').data;
      const fromInput = refLayerNorm(row(r.residual[1], 2, 16), w, b, 1e-5);
      const same = maxDiff(row(r.ffn[1].input, 2, 16), fromInput) < 1e-12;
      assert.strictEqual(same, parallel);
    }
  });

  it('grouped-query attention: query head h reads kv head floor(h / (heads / kvHeads))', () => {
    const model = makeTinyModel('llama'); // 4 heads, 2 kv heads of 4 dims
    const expanded: Record<string, TinyTensor> = {};
    for (let l = 0; l < 2; l++) {
      for (const p of ['k_proj', 'v_proj']) {
        const name = `model.layers.${l}.self_attn.${p}.weight`;
        const src = tensorOf(model, name).data;
        const data = new Float64Array(16 * 16);
        for (let h = 0; h < 4; h++) data.set(src.subarray(Math.floor(h / 2) * 64, Math.floor(h / 2) * 64 + 64), h * 64);
        expanded[name] = { shape: [16, 16], data };
      }
    }
    const mha = variant(model, 'llama', { num_key_value_heads: 4 }, expanded);
    assert.ok(maxDiff(refForward(mha, IDS).logits, refForward(model, IDS).logits) < 1e-12);
  });

  it('Qwen2 is LLaMA plus q/k/v biases', () => {
    const model = makeTinyModel('qwen2');
    const zeroed: Record<string, TinyTensor | undefined> = {};
    const removed: Record<string, undefined> = {};
    for (const [name, t] of model.tensors) {
      if (!name.endsWith('.bias')) continue;
      zeroed[name] = { shape: t.shape, data: new Float64Array(t.data.length) };
      removed[name] = undefined;
    }
    const asLlama = variant(model, 'llama', { model_type: 'llama' }, removed);
    const qwenNoBias = refForward(variant(model, 'qwen2', {}, zeroed), IDS).logits;
    assert.ok(maxDiff(qwenNoBias, refForward(asLlama, IDS).logits) < 1e-12);
    assert.ok(maxDiff(refForward(model, IDS).logits, qwenNoBias) > 1e-3);
    for (const p of ['q_proj', 'k_proj', 'v_proj']) {
      const name = `model.layers.0.self_attn.${p}.bias`;
      const one = variant(model, 'qwen2', {}, { [name]: zeroed[name] });
      assert.ok(maxDiff(refForward(one, IDS).logits, refForward(model, IDS).logits) > 1e-6, `${p} bias matters`);
    }
  });

  it('Mistral sliding window: position q sees key k only when q - k < window; a large window is a no-op', () => {
    const model = makeTinyModel('mistral');
    const none = refForward(variant(model, 'mistral', { sliding_window: null }), IDS).logits;
    assert.deepStrictEqual(refForward(model, IDS).logits, none, 'window 4096 over 6 tokens');
    const small = variant(model, 'mistral', { sliding_window: 3 });
    const a = refForward(small, IDS);
    const b = refForward(small, [0, ...IDS.slice(1)]);
    // Block 0 at position 3 sees tokens 1..3 only, so block 1's input there ignores token 0; position 2 does not.
    assert.deepStrictEqual(row(a.residual[1], 3, 16), row(b.residual[1], 3, 16));
    assert.ok(maxDiff(row(a.residual[1], 2, 16), row(b.residual[1], 2, 16)) > 1e-6);
  });

  it('Gemma scales embeddings by sqrt(hidden) rounded to the config dtype', () => {
    const model = makeTinyModel('gemma'); // hidden 24: sqrt 4.898979..., bfloat16 4.90625
    const embed = tensorOf(model, 'model.embed_tokens.weight').data;
    const first = (m: TinyModel): number => refForward(m, [3]).residual[0][0];
    assert.strictEqual(first(model), embed[3 * 24] * Math.fround(Math.sqrt(24)));
    assert.strictEqual(first(variant(model, 'gemma', { torch_dtype: 'bfloat16' })), embed[3 * 24] * 4.90625);
    assert.strictEqual(refForward(model, [3], { normalizerDtype: 'F64' }).residual[0][0], embed[3 * 24] * Math.sqrt(24));
  });

  it('llama3 rope scaling changes later positions only', () => {
    const scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 };
    const plain = refForward(makeTinyModel('llama'), IDS);
    const scaled = refForward(makeTinyModel('llama', { ropeScaling: scaling }), IDS);
    assert.deepStrictEqual(row(scaled.residual[1], 0, 16), row(plain.residual[1], 0, 16));
    assert.ok(maxDiff(row(scaled.residual[1], 5, 16), row(plain.residual[1], 5, 16)) > 1e-6);
  });
});

describe('model reference: ablation', () => {
  it('zeroes the listed hidden units at every position and carries the change forward', () => {
    const model = makeTinyModel('llama');
    const base = refForward(model, IDS);
    const cut = refForward(model, IDS, { ablate: { layer: 0, units: [0, 3] } });
    for (let t = 0; t < IDS.length; t++) for (const u of [0, 3]) assert.strictEqual(cut.ffn[0].hidden[t * 40 + u], 0);
    assert.deepStrictEqual(cut.residual[0], base.residual[0]);
    assert.deepStrictEqual(cut.ffn[0].input, base.ffn[0].input);
    assert.ok(maxDiff(cut.residual[1], base.residual[1]) > 1e-6);
    assert.deepStrictEqual(refForward(model, IDS, { ablate: { layer: 0, units: [] } }).logits, base.logits);
  });

  it('in the last block, removes exactly hidden_u times column u of down_proj from the MLP output', () => {
    const model = makeTinyModel('gemma');
    const base = refForward(model, IDS);
    const cut = refForward(model, IDS, { ablate: { layer: 1, units: [5] } });
    const down = tensorOf(model, 'model.layers.1.mlp.down_proj.weight').data; // [24, 40]
    for (let t = 0; t < IDS.length; t++) {
      const h = base.ffn[1].hidden[t * 40 + 5];
      const expected = Array.from({ length: 24 }, (_, o) => base.ffn[1].output[t * 24 + o] - h * down[o * 40 + 5]);
      close(row(cut.ffn[1].output, t, 24), expected, 1e-13, `t${t}`);
    }
  });
});
