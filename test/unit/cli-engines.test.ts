/**
 * Issue 10: the command line computes on the same engine as the worker. `--engine ts` and
 * `--engine wasm` both match the float64 reference on layers big enough to cross the kernels'
 * blocks (d_ff > 512 = PANEL_KC, widths not a multiple of 8), from safetensors in both matrix
 * layouts; `run --json` says which engine ran; bad choices are usage errors. And `inspect` lists
 * every entry it could not read, in the table and in --json, with exit status 1.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bestPath, detectWasmFeatures } from '../../src/kernels';
import { safetensorsBytes, type StTensor } from '../helpers/binaryWriters';
import { buildCliOnce, runCli } from '../helpers/cli';
import { assertRunMatchesReference, gaussian, randomMatrix, referenceFfn, type RefWeights } from '../helpers/reference';

const T = 7;
const D = 40;
const F = 530;
const TOP_K = 5;
const fr = (m: number[][]): number[][] => m.map((r) => r.map(Math.fround));
const transposed = (m: number[][]): number[][] => m[0].map((_, j) => m.map((row) => row[j]));
const st = (name: string, m: number[][] | number[]): StTensor =>
  Array.isArray(m[0]) ? { name, dtype: 'F32', shape: [(m as number[][]).length, (m as number[][])[0].length], values: (m as number[][]).flat() } : { name, dtype: 'F32', shape: [m.length], values: m as number[] };

describe('cli: one engine for every entry point (issue 10)', function () {
  this.timeout(60000);
  let dir: string;
  const rand = gaussian(20261203);
  const w: Required<Pick<RefWeights, 'w1' | 'w2' | 'wGate' | 'b1' | 'b2'>> = {
    w1: fr(randomMatrix(rand, D, F, 0.3)),
    wGate: fr(randomMatrix(rand, D, F, 0.3)),
    w2: fr(randomMatrix(rand, F, D, 0.1)),
    b1: fr(randomMatrix(rand, 1, F, 0.1))[0],
    b2: fr(randomMatrix(rand, 1, D, 0.1))[0],
  };
  const inputs = fr(randomMatrix(rand, T, D));
  const tokens = Array.from({ length: T }, (_, i) => `tok${i}`);
  let gpt2: string;
  let llama: string;
  let inputsFile: string;

  before(() => {
    buildCliOnce();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-cli-engines-'));
    // GPT-2 Conv1D: [in, out] as stored, read as is.
    gpt2 = path.join(dir, 'gpt2.safetensors');
    fs.writeFileSync(gpt2, safetensorsBytes([st('h.0.mlp.c_fc.weight', w.w1), st('h.0.mlp.c_fc.bias', w.b1), st('h.0.mlp.c_proj.weight', w.w2), st('h.0.mlp.c_proj.bias', w.b2)]));
    // LLaMA Linear: [out, in] as stored, decoded transposed into the kernel's layout.
    llama = path.join(dir, 'llama.safetensors');
    fs.writeFileSync(
      llama,
      safetensorsBytes([
        st('model.layers.0.mlp.gate_proj.weight', transposed(w.wGate)),
        st('model.layers.0.mlp.up_proj.weight', transposed(w.w1)),
        st('model.layers.0.mlp.down_proj.weight', transposed(w.w2)),
      ]),
    );
    inputsFile = path.join(dir, 'inputs.json');
    fs.writeFileSync(inputsFile, JSON.stringify({ tokens, inputs }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const wasmHere = bestPath(detectWasmFeatures()) !== 'ts';

  for (const engine of ['ts', 'wasm'] as const) {
    for (const layer of ['gpt2', 'llama'] as const) {
      it(`--engine ${engine} on a ${layer === 'gpt2' ? 'GPT-2 (gelu_tanh, [in,out])' : 'LLaMA (swiglu, [out,in])'} layer matches the float64 reference`, function () {
        if (engine === 'wasm' && !wasmHere) this.skip();
        const file = layer === 'gpt2' ? gpt2 : llama;
        const r = runCli('run', file, '--inputs', inputsFile, '--engine', engine, '--json', '--full', '--top-k', String(TOP_K));
        assert.strictEqual(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.strictEqual(doc.engine, engine);
        const ref =
          layer === 'gpt2'
            ? referenceFfn({ w1: w.w1, b1: w.b1, w2: w.w2, b2: w.b2 }, inputs, { activation: 'gelu_tanh', topK: TOP_K, threshold: 0.01 })
            : referenceFfn({ w1: w.w1, wGate: w.wGate, w2: w.w2 }, inputs, { activation: 'swiglu', topK: TOP_K, threshold: 0.01 });
        assert.strictEqual(doc.activation, layer === 'gpt2' ? 'gelu_tanh' : 'swiglu');
        assertRunMatchesReference(doc, ref, tokens);
      });
    }
  }

  it('auto runs the WebAssembly kernels where this Node has them, and says so', () => {
    const r = runCli('run', gpt2, '--random', '3', '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(JSON.parse(r.stdout).engine, wasmHere ? 'wasm' : 'ts');
  });

  it('an unknown --engine is a usage error (exit 2) naming the choices', () => {
    const r = runCli('run', gpt2, '--engine', 'gpu');
    assert.strictEqual(r.code, 2);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, /^error: .*--engine must be one of auto, wasm, ts, got "gpu"\n$/);
  });

  describe('inspect never silently drops a tensor', () => {
    const write = (name: string, text: string): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, text);
      return p;
    };

    it('a matrix of text: listed in problems (--json), in the table, exit 1, whichever key comes first', () => {
      const a = write('text-first.json', '{"W1": [["a","b"],["c","d"]], "W2": [[1,2],[3,4]]}');
      const b = write('text-last.json', '{"W2": [[1,2],[3,4]], "W1": [["a","b"],["c","d"]]}');
      const docs = [a, b].map((file) => {
        const r = runCli('inspect', file, '--json');
        assert.strictEqual(r.code, 1, 'exit status');
        assert.match(r.stderr, /^error: .*1 tensor cannot be read: W1: row 0 holds text \("a"\), not numbers\n$/);
        const doc = JSON.parse(r.stdout);
        assert.deepStrictEqual(doc.problems, [{ name: 'W1', message: 'W1: row 0 holds text ("a"), not numbers' }]);
        assert.deepStrictEqual(doc.tensors.map((t: { name: string }) => t.name), ['W2']);
        return doc;
      });
      assert.deepStrictEqual({ ...docs[0], file: '' }, { ...docs[1], file: '' });
      const table = runCli('inspect', a);
      assert.strictEqual(table.code, 1);
      assert.match(table.stdout, /^W1\s+\?\s+\?\s+\(cannot read: W1: row 0 holds text \("a"\), not numbers\)$/m);
      assert.match(table.stdout, /^problems: 1$/m);
    });

    it('ragged rows, NaN in the wrong spelling, null and nested objects are each a named problem', () => {
      const file = write('many.json', '{"W2": [[1,2],[3,4]], "b1": [1, "NaN?", 2], "W1": [[1,2],[3]], "b2": [1, null], "W3": [[1, {"x": 1}]]}');
      const r = runCli('inspect', file, '--json');
      assert.strictEqual(r.code, 1);
      assert.deepStrictEqual(JSON.parse(r.stdout).problems, [
        { name: 'W1', message: 'W1: row 1 has 1 number, expected 2' },
        { name: 'W3', message: 'W3: row 0 holds an object, not numbers' },
        { name: 'b1', message: 'b1: element 1 holds text ("NaN?"), not numbers' },
        { name: 'b2', message: 'b2: element 1 holds null (JSON has no NaN: write "NaN"), not numbers' },
      ]);
    });

    it('run refuses such a file, naming every problem', () => {
      const file = write('run-bad.json', '{"W1": [["a","b"],["c","d"]], "W2": [[1,2],[3,4]]}');
      const r = runCli('run', file);
      assert.strictEqual(r.code, 1);
      assert.match(r.stderr, /^error: .*run-bad\.json: 1 tensor cannot be read: W1: row 0 holds text \("a"\), not numbers\n$/);
    });

    it('a clean file still inspects with exit 0 and an empty problems list', () => {
      const file = write('clean.json', '{"W1": [[1,2],[3,4]], "W2": [[1,2],[3,4]]}');
      const r = runCli('inspect', file, '--json');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.deepStrictEqual(JSON.parse(r.stdout).problems, []);
    });
  });
});
