/**
 * An independent float64 FFN reference for tests: naive loops over Float64Array, activation
 * formulas written from the math (erf by its own series and continued fraction), and the
 * definitions of issue 2 for sparsity, norms, top-k, firing rate and dead neurons. It shares no
 * code with src/core on purpose: the CLI's numbers are checked against it.
 */
import * as assert from 'assert';

/** Math layout: w1 / wGate [dModel][dFf], w2 [dFf][dModel]. */
export interface RefWeights {
  w1: number[][];
  b1?: number[];
  wGate?: number[][];
  bGate?: number[];
  w2: number[][];
  b2?: number[];
}

export interface RefOptions {
  activation: string;
  topK: number;
  /** Smooth activations: a unit counts as silenced when |act(pre)| <= threshold (act: the gate's function for gated layers). */
  threshold: number;
}

export interface RefToken {
  sparsity: number;
  norms: { input: number; expanded: number; filtered: number; output: number };
  /** Ranked by score, descending; ties broken by the lower index. */
  top: { index: number; value: number; score: number }[];
}

export interface RefResult {
  pre: number[][];
  up?: number[][];
  hidden: number[][];
  output: number[][];
  perToken: RefToken[];
  sparsity: number;
  firingRate: number[];
  dead: number[];
  w2RowNorms: number[];
  /** Per token, per unit: was the unit silenced? */
  silenced: boolean[][];
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erf to about 1e-15: for |x| < 3 the series erf(x) = 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (1·3···(2n+1))
 * (all terms positive, so no cancellation); beyond, erfc by its continued fraction evaluated
 * bottom-up.
 */
export function refErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 0; n < 200; n++) {
      term *= (2 * a * a) / (2 * n + 3);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    r = (2 / SQRT_PI) * Math.exp(-a * a) * sum;
  } else if (a < 8) {
    // erfc(a) = e^{-a^2}/sqrt(pi) · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
    let f = a;
    for (let k = 120; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / SQRT_PI / f;
  } else {
    r = 1;
  }
  return x < 0 ? -r : r;
}

const relu = (x: number): number => (x > 0 ? x : 0);
const geluErf = (x: number): number => 0.5 * x * (1 + refErf(x / Math.SQRT2));
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
const silu = (x: number): number => x / (1 + Math.exp(-x));

/** The activation itself, for plain names, or the gate's function for gated ones. */
export function refActivation(name: string): (x: number) => number {
  switch (name) {
    case 'relu':
    case 'reglu':
      return relu;
    case 'gelu':
    case 'geglu':
      return geluErf;
    case 'gelu_tanh':
    case 'geglu_tanh':
      return geluTanh;
    case 'silu':
    case 'swiglu':
      return silu;
    default:
      throw new Error(`reference: unknown activation ${name}`);
  }
}

export const isRefGated = (name: string): boolean => ['swiglu', 'geglu', 'geglu_tanh', 'reglu'].includes(name);
const isExact = (name: string): boolean => name === 'relu' || name === 'reglu';

function matVec(x: Float64Array, w: number[][], b: number[] | undefined, outDim: number): Float64Array {
  const y = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    let s = b ? b[j] : 0;
    for (let i = 0; i < x.length; i++) s += x[i] * w[i][j];
    y[j] = s;
  }
  return y;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Runs the FFN on every row of `inputs` ([T][dModel]) in float64. */
export function referenceFfn(w: RefWeights, inputs: number[][], opts: RefOptions): RefResult {
  const dModel = w.w1.length;
  const dFf = w.w1[0].length;
  const gated = isRefGated(opts.activation);
  if (gated && !w.wGate) throw new Error('reference: gated activation without a gate matrix');
  const act = refActivation(opts.activation);
  const w2RowNorms = w.w2.map((row) => norm(row));
  const res: RefResult = { pre: [], hidden: [], output: [], perToken: [], sparsity: 0, firingRate: [], dead: [], w2RowNorms, silenced: [] };
  if (gated) res.up = [];
  const fired = new Float64Array(dFf);
  let silencedTotal = 0;
  for (const row of inputs) {
    const x = Float64Array.from(row);
    const up = matVec(x, w.w1, w.b1, dFf);
    const pre = gated ? matVec(x, w.wGate!, w.bGate, dFf) : up;
    const hidden = new Float64Array(dFf);
    for (let j = 0; j < dFf; j++) hidden[j] = gated ? act(pre[j]) * up[j] : act(pre[j]);
    const out = new Float64Array(dModel);
    for (let m = 0; m < dModel; m++) {
      let s = w.b2 ? w.b2[m] : 0;
      for (let j = 0; j < dFf; j++) s += hidden[j] * w.w2[j][m];
      out[m] = s;
    }
    const silenced: boolean[] = [];
    let count = 0;
    for (let j = 0; j < dFf; j++) {
      const off = isExact(opts.activation) ? pre[j] <= 0 : Math.abs(act(pre[j])) <= opts.threshold;
      silenced.push(off);
      if (off) count++;
      else fired[j]++;
    }
    silencedTotal += count;
    const scored = Array.from(hidden, (v, index) => ({ index, value: v, score: Math.abs(v) * w2RowNorms[index] }));
    scored.sort((a, b) => b.score - a.score || a.index - b.index);
    res.pre.push(Array.from(pre));
    res.up?.push(Array.from(up));
    res.hidden.push(Array.from(hidden));
    res.output.push(Array.from(out));
    res.silenced.push(silenced);
    res.perToken.push({
      sparsity: count / dFf,
      norms: { input: norm(x), expanded: norm(pre), filtered: norm(hidden), output: norm(out) },
      top: scored.slice(0, opts.topK),
    });
  }
  const T = inputs.length;
  res.sparsity = T ? silencedTotal / (T * dFf) : 0;
  res.firingRate = Array.from(fired, (f) => (T ? f / T : 0));
  res.dead = res.firingRate.flatMap((r, j) => (r === 0 ? [j] : []));
  return res;
}

/** |a-b| <= tol * max(1, |ref|): the project's "within 1e-4 relative". */
export function closeTo(actual: number, ref: number, tol = 1e-4): boolean {
  return Math.abs(actual - ref) <= tol * Math.max(1, Math.abs(ref));
}

/** Seeded N(0,1) numbers (mulberry32 + Box-Muller) for test weights; independent of the core's generator. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** A [rows][cols] matrix of seeded N(0, scale^2) numbers. */
export function randomMatrix(rand: () => number, rows: number, cols: number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rand() * scale));
}

/** What `run --json --full` prints that the reference checks (the CLI contract's keys). */
export interface RunDocForReference {
  output?: (number | null)[][];
  preActivation?: (number | null)[][];
  hidden?: (number | null)[][];
  sparsity: number;
  perToken: { token: string; sparsity: number; norms: Record<'input' | 'expanded' | 'filtered' | 'output', number>; topNeurons: { index: number; value: number; score: number }[] }[];
  neurons: { dead: number[]; firingRate: (number | null)[] };
}

/**
 * Every number of a `run --json --full` document against the float64 reference: the three
 * stages element by element, sparsity, each token's label, sparsity, norms and top-k, dead
 * neurons and firing rates.
 */
export function assertRunMatchesReference(doc: RunDocForReference, ref: RefResult, tokens: readonly string[]): void {
  const close = (what: string, got: (number | null)[][] | undefined, want: number[][]): void => {
    assert.ok(got, `${what} present`);
    assert.strictEqual(got.length, want.length, `${what} rows`);
    want.forEach((row, t) => {
      assert.strictEqual(got[t].length, row.length, `${what}[${t}] length`);
      row.forEach((v, j) => assert.ok(closeTo(got[t][j] as number, v), `${what}[${t}][${j}] = ${got[t][j]}, reference ${v}`));
    });
  };
  close('output', doc.output, ref.output);
  close('preActivation', doc.preActivation, ref.pre);
  close('hidden', doc.hidden, ref.hidden);
  assert.ok(closeTo(doc.sparsity, ref.sparsity), `sparsity ${doc.sparsity} vs ${ref.sparsity}`);
  assert.strictEqual(doc.perToken.length, ref.perToken.length, 'tokens');
  doc.perToken.forEach((t, i) => {
    const r = ref.perToken[i];
    assert.strictEqual(t.token, tokens[i]);
    assert.strictEqual(t.sparsity, r.sparsity, `token ${i} sparsity`);
    for (const k of ['input', 'expanded', 'filtered', 'output'] as const) {
      assert.ok(closeTo(t.norms[k], r.norms[k]), `token ${i} norm ${k}: ${t.norms[k]} vs ${r.norms[k]}`);
    }
    assert.deepStrictEqual(t.topNeurons.map((x) => x.index), r.top.map((x) => x.index), `token ${i} top-k indices`);
    t.topNeurons.forEach((x, j) => assert.ok(closeTo(x.value, r.top[j].value) && closeTo(x.score, r.top[j].score), `token ${i} top ${j}`));
  });
  assert.deepStrictEqual(doc.neurons.dead, ref.dead);
  doc.neurons.firingRate.forEach((f, j) => assert.ok(closeTo(f as number, ref.firingRate[j], 1e-6), `firing rate ${j}`));
}
