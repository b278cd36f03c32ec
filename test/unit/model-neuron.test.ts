/**
 * Issue 12: the neuron card's vocabulary projections and the corpus scan, against a float64
 * reference written here from the formulas and refForward, on tiny models of both
 * families (GPT-2 Conv1D and LLaMA SwiGLU, HF folder and GGUF), plus the windowing, position and
 * density rules on a case worked out by hand, and the streaming histogram.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createGemmEngine } from '../../src/kernels';
import { neuronCard } from '../../src/model/neuron';
import { openModel } from '../../src/model/open';
import { scanCorpus, type CorpusFile } from '../../src/model/scan';
import { searchToken } from '../../src/model/search';
import { WeightStore } from '../../src/model/store';
import { ModelWeights } from '../../src/model/weights';
import { StreamingHistogram } from '../../src/model/scanStats';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { refForward } from '../helpers/refModel';
import { makeTinyModel, writeHfFolder, writeLlamaGguf, type TinyModel } from '../helpers/tinyModels';

const T = (m: TinyModel, name: string) => m.tensors.get(name) as { shape: number[]; data: Float64Array };

/** Reference: sorted (id, value) of M[V x d] · v, largest first. */
function project(m: { shape: number[]; data: Float64Array }, v: Float64Array): [number, number][] {
  const [V, d] = m.shape;
  const out: [number, number][] = [];
  for (let r = 0; r < V; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += m.data[r * d + i] * v[i];
    out.push([r, s]);
  }
  return out.sort((a, b) => b[1] - a[1]);
}

/** Unit i's vectors from the HF tensors: w_out (row i of the down projection in [d_ff x d]), w_in (the gate's or up's row i in [d_ff x d]). */
function unitVectors(m: TinyModel, layer: number, i: number): { wOut: Float64Array; wIn: Float64Array; gOut: Float64Array; gIn: Float64Array } {
  const d = m.config.hidden_size as number ?? m.config.n_embd;
  if (m.arch === 'gpt2') {
    const dd = m.config.n_embd as number;
    const fc = T(m, `transformer.h.${layer}.mlp.c_fc.weight`); // [d, d_ff]: column i
    const proj = T(m, `transformer.h.${layer}.mlp.c_proj.weight`); // [d_ff, d]: row i
    const ff = fc.shape[1];
    return {
      wOut: proj.data.slice(i * dd, (i + 1) * dd),
      wIn: Float64Array.from({ length: dd }, (_, r) => fc.data[r * ff + i]),
      gOut: T(m, 'transformer.ln_f.weight').data,
      gIn: T(m, `transformer.h.${layer}.ln_2.weight`).data,
    };
  }
  const down = T(m, `model.layers.${layer}.mlp.down_proj.weight`); // [d, d_ff]: column i
  const gate = T(m, `model.layers.${layer}.mlp.gate_proj.weight`); // [d_ff, d]: row i
  const ff = down.shape[1];
  return {
    wOut: Float64Array.from({ length: d }, (_, r) => down.data[r * ff + i]),
    wIn: gate.data.slice(i * d, (i + 1) * d),
    gOut: T(m, 'model.norm.weight').data,
    gIn: T(m, `model.layers.${layer}.post_attention_layernorm.weight`).data,
  };
}

const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

describe('model: neuron card against the float64 reference', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-neuron-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: { label: string; make: () => TinyModel; write: (m: TinyModel, where: string) => string }[] = [
    { label: 'GPT-2 folder (Conv1D, tied head)', make: () => makeTinyModel('gpt2', { seed: 41, layers: 2 }), write: (m, w) => (fs.mkdirSync(w), writeHfFolder(w, m), w) },
    { label: 'LLaMA folder (SwiGLU, untied head)', make: () => makeTinyModel('llama', { seed: 42, layers: 2 }), write: (m, w) => (fs.mkdirSync(w), writeHfFolder(w, m), w) },
    {
      label: 'LLaMA GGUF',
      make: () => makeTinyModel('llama', { seed: 43, layers: 2 }),
      write: (m, w) => {
        const V = m.config.vocab_size as number;
        const tokens = Array.from({ length: V }, (_, i) => `▁t${i}`);
        writeLlamaGguf(`${w}.gguf`, m, { tokenizer: { model: 'llama', tokens, scores: tokens.map((_, i) => -i), tokenTypes: tokens.map(() => 1) } });
        return `${w}.gguf`;
      },
    },
  ];
  cases.forEach((c, n) => {
    it(`${c.label}: promotes, suppresses (with and without the final gain) and respondsTo`, async () => {
      const tiny = c.make();
      const model = await openModel(c.write(tiny, path.join(dir, `m${n}`)));
      try {
        const unit = 5;
        const { wOut, wIn, gOut, gIn } = unitVectors(tiny, 1, unit);
        const head = tiny.arch === 'gpt2' ? T(tiny, 'transformer.wte.weight') : T(tiny, 'lm_head.weight');
        const embed = tiny.arch === 'gpt2' ? T(tiny, 'transformer.wte.weight') : T(tiny, 'model.embed_tokens.weight');
        for (const raw of [false, true]) {
          const card = await neuronCard(model, 1, unit, 4, raw);
          const want = project(head, wOut.map((x, i) => x * (raw ? 1 : gOut[i])));
          assert.deepStrictEqual(card.promotes.map((p) => p.id), want.slice(0, 4).map(([id]) => id), `promotes (raw ${raw})`);
          card.promotes.forEach((p, j) => assert.ok(near(p.value, want[j][1]), `promote ${j}: ${p.value} vs ${want[j][1]}`));
          assert.deepStrictEqual(card.suppresses.map((p) => p.id), want.slice(-4).reverse().map(([id]) => id), `suppresses (raw ${raw})`);
        }
        const card = await neuronCard(model, 1, unit, 3);
        const reads = project(embed, wIn.map((x, i) => x * gIn[i]));
        assert.deepStrictEqual(card.respondsTo.map((p) => p.id), reads.slice(0, 3).map(([id]) => id));
        card.respondsTo.forEach((p, j) => assert.ok(near(p.value, reads[j][1])));
        await assert.rejects(neuronCard(model, 1, 10_000), /neuron 10000 does not exist/);
        await assert.rejects(neuronCard(model, 7, 0), /layer 7 does not exist/);
      } finally {
        await model.close();
      }
    });
  });
});

describe('model: corpus scan', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-scan-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { json, vocabSize } = byteBpeTokenizer();
  const tiny = makeTinyModel('gpt2', { seed: 51, layers: 2, vocab: vocabSize, maxPositions: 32 });
  const folder = path.join(dir, 'gpt2');
  fs.mkdirSync(folder);
  writeHfFolder(folder, tiny, { tokenizerJson: json, tokenizerConfig: { add_bos_token: false } });
  const file = (name: string, text: string): CorpusFile => ({ name, text: async () => text });

  it('windows, positions, density and the top examples follow the rules, against refForward per window', async () => {
    // "hello world" -> [hell, o, Ġw, o, r, l, d] (7 ids); with --ctx 3 the windows are
    // [hell, o, Ġw], [o, r, l], [d]: window 2's position 0 is the file's token 6, "d".
    // "hello" -> [hell, o]: one window.
    const files = [file('a.txt', 'hello world'), file('b.txt', 'hello')];
    const ids = { a: [258, 111, 259, 111, 114, 108, 100], b: [258, 111] };
    const windows = [ids.a.slice(0, 3), ids.a.slice(3, 6), ids.a.slice(6), ids.b];
    const where = [['a.txt', 0], ['a.txt', 1], ['a.txt', 2], ['b.txt', 0]] as const;
    const engine = createGemmEngine({ path: 'ts' });
    const model = await openModel(folder);
    try {
      const units = [0, 9, 33];
      const r = await scanCorpus(model, files, { engine, layer: 1, ctx: 3, top: 4, neurons: units, threshold: 0.05 });
      assert.strictEqual(r.tokens, 9);
      assert.strictEqual(r.windows, 4);
      const dFf = 64;
      units.forEach((u, j) => {
        const all: { value: number; file: string; window: number; position: number }[] = [];
        windows.forEach((w, k) => {
          const hidden = refForward(tiny, w).ffn[1].hidden;
          w.forEach((_, p) => all.push({ value: hidden[p * dFf + u], file: where[k][0], window: where[k][1], position: p }));
        });
        const n = r.neurons[j];
        assert.strictEqual(n.index, u);
        assert.ok(Math.abs(n.density - all.filter((x) => Math.abs(x.value) > 0.05).length / 9) < 1e-12, `density of ${u}`);
        const top = [...all].sort((a, b) => b.value - a.value).slice(0, 4);
        assert.deepStrictEqual(n.examples.map((e) => [e.file, e.window, e.position]), top.map((t) => [t.file, t.window, t.position]), `examples of ${u}`);
        n.examples.forEach((e, k) => assert.ok(near(e.value, top[k].value)));
        assert.ok(near(n.max, top[0].value));
        assert.strictEqual(n.histogram.counts.length, 50);
        assert.strictEqual(n.histogram.counts.reduce((a, b) => a + b, 0), 9);
        // the token and where it sits in its context
        for (const e of n.examples) assert.strictEqual(e.context.slice(e.tokenSpan[0], e.tokenSpan[1]), e.token);
      });
      const d = r.neurons[0].examples.find((e) => e.file === 'a.txt' && e.window === 2);
      if (d) assert.deepStrictEqual([d.position, d.token, d.offsets], [0, 'd', [10, 11]]);
    } finally {
      await model.close();
      await engine.dispose();
    }
  });

  it('refuses a context longer than the model takes, and neurons that do not exist', async () => {
    const engine = createGemmEngine({ path: 'ts' });
    const model = await openModel(folder);
    try {
      await assert.rejects(scanCorpus(model, [file('a', 'hi')], { engine, layer: 0, ctx: 33, top: 1 }), /--ctx 33 is longer than the model's context of 32/);
      await assert.rejects(scanCorpus(model, [file('a', 'hi')], { engine, layer: 0, ctx: 4, top: 1, neurons: [64] }), /neuron 64 does not exist/);
    } finally {
      await model.close();
      await engine.dispose();
    }
  });
});

describe('model: the streaming histogram keeps every count as its range grows', () => {
  it('counts all values, in bins whose edges cover them, whatever the order', () => {
    const values = Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * (i < 300 ? 1 : 40));
    const h = new StreamingHistogram(50);
    for (const v of values) h.add(v);
    h.add(NaN);
    const { edges, counts } = h.toJson();
    assert.strictEqual(counts.reduce((a, b) => a + b, 0), 2000);
    // every value falls in the bin the edges say
    const byEdges = new Array(50).fill(0);
    for (const v of values) {
      let k = edges.findIndex((e, i) => i < 50 && v >= e && v < edges[i + 1]);
      if (k < 0 && v === edges[50]) k = 49;
      assert.ok(k >= 0, `${v} outside [${edges[0]}, ${edges[50]})`);
      byEdges[k]++;
    }
    assert.deepStrictEqual(counts, byEdges);
    // the median of the samples, within one bin width
    const sorted = [...values].sort((a, b) => a - b);
    assert.ok(Math.abs(h.quantile(0.5) - sorted[1000]) <= edges[1] - edges[0]);
  });
});

describe('model: search finds the units that promote a token', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-search-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const arch of ['gpt2', 'llama'] as const) {
    it(`${arch}: the top units by (g ⊙ W_U[token]) · w_out_i, against float64, with ids given as #id`, async () => {
      const tiny = makeTinyModel(arch, { seed: 61, layers: 2 });
      const folder = path.join(dir, arch);
      fs.mkdirSync(folder);
      writeHfFolder(folder, tiny);
      const model = await openModel(folder);
      try {
        const id = 7;
        const r = await searchToken(model, `#${id}`, [0, 1], 3);
        assert.strictEqual(r.id, id);
        const head = arch === 'gpt2' ? T(tiny, 'transformer.wte.weight') : T(tiny, 'lm_head.weight');
        const d = head.shape[1];
        for (const layer of [0, 1]) {
          const dFf = arch === 'gpt2' ? 4 * d : (tiny.config.intermediate_size as number);
          const scores = Array.from({ length: dFf }, (_, i) => {
            const { wOut, gOut } = unitVectors(tiny, layer, i);
            let s = 0;
            for (let j = 0; j < d; j++) s += head.data[id * d + j] * gOut[j] * wOut[j];
            return [i, s] as [number, number];
          }).sort((a, b) => b[1] - a[1]);
          const got = r.layers.find((l) => l.layer === layer);
          assert.deepStrictEqual(got?.promotes.map((p) => p.unit), scores.slice(0, 3).map(([i]) => i), `block ${layer}`);
          got?.promotes.forEach((p, j) => assert.ok(near(p.value, scores[j][1])));
        }
        await assert.rejects(searchToken(model, 'no such token here', [0], 3), /is not one token of this model's vocabulary/);
      } finally {
        await model.close();
      }
    });
  }
});

describe('model: a scan of a LLaMA GGUF (SwiGLU, vocabulary in the file)', function () {
  this.timeout(60000);
  it('the product entering the down projection, ranked, with density, as refForward per window', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-scan-gguf-'));
    const tiny = makeTinyModel('llama', { seed: 81, layers: 2 });
    const V = tiny.config.vocab_size as number;
    // one SentencePiece piece per letter, so "abcab" is [▁, a, b, c, a, b] worked out by hand
    const tokens = ['<unk>', '<s>', '</s>', '▁', 'a', 'b', 'c', ...Array.from({ length: V - 7 }, (_, i) => `▁w${i}`)];
    const file = path.join(dir, 'm.gguf');
    writeLlamaGguf(file, tiny, { tokenizer: { model: 'llama', tokens, scores: tokens.map(() => 0), tokenTypes: tokens.map((_, i) => (i < 3 ? 3 : 1)), bos: 1, eos: 2, addBos: false } });
    const model = await openModel(file);
    const engine = createGemmEngine({ path: 'ts' });
    try {
      const e = model.tokenizer.encode('abcab', { addSpecialTokens: false });
      assert.deepStrictEqual(e.ids, [3, 4, 5, 6, 4, 5]);
      const r = await scanCorpus(model, [{ name: 'x.txt', text: async () => 'abcab' }], { engine, layer: 1, ctx: 4, top: 2, neurons: [2, 11] });
      assert.strictEqual(r.windows, 2);
      const dFf = tiny.config.intermediate_size as number;
      const windows = [e.ids.slice(0, 4), e.ids.slice(4)];
      [2, 11].forEach((u, j) => {
        const all = windows.flatMap((w, k) => {
          const h = refForward(tiny, w).ffn[1].hidden;
          return w.map((_, p) => ({ value: h[p * dFf + u], window: k, position: p }));
        });
        const top = [...all].sort((a, b) => b.value - a.value).slice(0, 2);
        assert.deepStrictEqual(r.neurons[j].examples.map((x) => [x.window, x.position]), top.map((t) => [t.window, t.position]));
        r.neurons[j].examples.forEach((x, k) => assert.ok(near(x.value, top[k].value)));
        assert.ok(Math.abs(r.neurons[j].density - all.filter((a) => Math.abs(a.value) > 0.01).length / 6) < 1e-12);
      });
    } finally {
      await model.close();
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model: the neuron card on kept, kernel-laid-out vocabulary matrices (the worker)', function () {
  this.timeout(60000);
  it('gives the same card as the streamed one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-card-kept-'));
    const tiny = makeTinyModel('llama', { seed: 91, layers: 2 });
    writeHfFolder(dir, tiny);
    const model = await openModel(dir);
    const engine = createGemmEngine({ threads: 2 });
    const store = new WeightStore(1 << 26, (m) => engine.release(m.prepared?.data ?? m.plain));
    try {
      const w = new ModelWeights(model.source, engine, undefined, store);
      const product = async (name: string, V: number, v: Float32Array) => Float64Array.from(await w.linear({ weight: name, layout: 'out_in' }, v, 1, model.spec.dModel, V));
      const streamed = await neuronCard(model, 1, 3, 5);
      const kept = await neuronCard(model, 1, 3, 5, false, product);
      for (const list of ['promotes', 'suppresses', 'respondsTo'] as const) {
        assert.deepStrictEqual(kept[list].map((x) => x.id), streamed[list].map((x) => x.id), list);
        kept[list].forEach((x, i) => assert.ok(near(x.value, streamed[list][i].value), `${list} ${i}`));
      }
      assert.ok(store.matrices.size >= 2, 'the head and the embedding are kept for the next card');
    } finally {
      store.clear();
      await model.close();
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
