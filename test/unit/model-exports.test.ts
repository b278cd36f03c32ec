/**
 * Issue 12's exports and GLU anatomy: activations as .npy (read back by the npy reader and by the
 * format's own rules), cards and scans as CSV (quoting worked out by hand), scan examples ranked
 * by |product|, and the sign quadrants of a gated unit against refForward.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { neuronCsv, scanCsv } from '../../src/model/csv';
import { npyBytes } from '../../src/formats/npyWriter';
import { openNpySource } from '../../src/formats/npy';
import { createGemmEngine } from '../../src/kernels';
import { openModel } from '../../src/model/open';
import { scanCorpus } from '../../src/model/scan';
import { neuronView } from '../../src/extension/panel/payload';
import { runModel } from '../../src/pipeline/runModel';
import { refForward } from '../helpers/refModel';
import { makeTinyModel, writeHfFolder } from '../helpers/tinyModels';

describe('exports: .npy and CSV', () => {
  it('a .npy file of float32 [2, 3]: magic, version 1.0, a 64-byte aligned header, then the values', async () => {
    const data = Float32Array.from([1, -2.5, 3, 0.25, 5, -6]);
    const bytes = npyBytes(data, [2, 3]);
    assert.strictEqual(bytes.subarray(0, 6).toString('latin1'), '\x93NUMPY');
    assert.deepStrictEqual([bytes[6], bytes[7]], [1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    assert.strictEqual((10 + headerLength) % 64, 0);
    const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
    assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    assert.strictEqual(bytes.length, 10 + headerLength + 24);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-npy-')), 'a.npy');
    fs.writeFileSync(file, bytes);
    const source = await openNpySource(file);
    try {
      assert.deepStrictEqual(source.tensors[0].shape, [2, 3]);
      assert.deepStrictEqual(Array.from(await source.read(source.tensors[0].name)), Array.from(data));
    } finally {
      await source.close();
      fs.rmSync(path.dirname(file), { recursive: true });
    }
  });

  it('CSV quotes fields with commas, quotes and line breaks (RFC 4180)', () => {
    const card = {
      layer: 2,
      neuron: 7,
      promotes: [{ id: 5, token: 'a,b', text: 'a,b', value: 1.5 }],
      suppresses: [{ id: 6, token: 'say "hi"', text: '', value: -2 }],
      respondsTo: [{ id: 7, token: 'line\nbreak', text: '', value: 0.5 }],
    };
    assert.strictEqual(
      neuronCsv(card),
      'layer,neuron,list,rank,id,token,value\r\n2,7,promotes,1,5,"a,b",1.5\r\n2,7,suppresses,1,6,"say ""hi""",-2\r\n2,7,respondsTo,1,7,"line\nbreak",0.5\r\n',
    );
    const scan = {
      tokens: 3,
      windows: 1,
      layer: 1,
      threshold: 0.01,
      neurons: [{ index: 4, density: 0.5, max: 2, histogram: { edges: [], counts: [] }, quantiles: [], examples: [{ value: 2, file: 'a.txt', window: 0, position: 1, token: 'x', context: 'w x, y', tokenSpan: [2, 3] as [number, number], offsets: [2, 3] as [number, number] }] }],
    };
    assert.strictEqual(scanCsv(scan), 'layer,unit,density,max,rank,value,file,window,position,token,context\r\n1,4,0.5,2,1,2,a.txt,0,1,x,"w x, y"\r\n');
  });
});

describe('GLU anatomy in a scan', function () {
  this.timeout(60000);
  it('sign quadrants of gate and up, and examples ranked by |product|, as refForward computes them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-glu-'));
    const tiny = makeTinyModel('llama', { seed: 71, layers: 2 });
    writeHfFolder(dir, tiny);
    const model = await openModel(dir);
    const engine = createGemmEngine({ path: 'ts' });
    try {
      // ids-only tokenizer: the corpus is given as ids through a tokenizer stand-in
      const ids = [4, 9, 13, 2, 30, 7, 7, 18];
      const asIds = { ...model, tokenizer: { ...model.tokenizer, addsBos: false, encode: () => ({ ids, tokens: ids.map(String), offsets: ids.map(() => [0, 0] as [number, number]) }), display: (id: number) => `#${id}` } };
      const units = [1, 6];
      const r = await scanCorpus(asIds, [{ name: 'f', text: async () => 'ignored' }], { engine, layer: 1, ctx: 8, top: 3, neurons: units, rank: 'abs' });
      const ref = refForward(tiny, ids).ffn[1];
      const dFf = tiny.config.intermediate_size as number;
      units.forEach((u, j) => {
        const q = { pp: 0, pn: 0, np: 0, nn: 0 };
        const vals: [number, number][] = [];
        ids.forEach((_, t) => {
          const g = (ref.gate as Float64Array)[t * dFf + u] >= 0;
          const up = (ref.up as Float64Array)[t * dFf + u] >= 0;
          q[g ? (up ? 'pp' : 'pn') : up ? 'np' : 'nn']++;
          vals.push([t, ref.hidden[t * dFf + u]]);
        });
        const n = r.neurons[j];
        assert.deepStrictEqual(n.quadrants, { pp: q.pp / 8, pn: q.pn / 8, np: q.np / 8, nn: q.nn / 8 }, `quadrants of ${u}`);
        const byAbs = vals.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 3);
        assert.deepStrictEqual(n.examples.map((e) => e.position), byAbs.map(([t]) => t), `|product| ranking of ${u}`);
        n.examples.forEach((e, k) => assert.ok(Math.abs(e.value - byAbs[k][1]) < 1e-4, 'the example keeps its signed value'));
      });
    } finally {
      await model.close();
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GLU anatomy in the panel', function () {
  this.timeout(60000);
  it("a gated unit's view carries its gate, up and product on every token, as refForward", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-glu-view-'));
    const tiny = makeTinyModel('llama', { seed: 73, layers: 2 });
    writeHfFolder(dir, tiny);
    const engine = createGemmEngine({ path: 'ts' });
    try {
      const ids = [3, 8, 21, 5];
      const r = await runModel({ model: dir, input: { kind: 'ids', ids }, layer: 1 }, engine);
      const ref = refForward(tiny, ids).ffn[1];
      const dFf = tiny.config.intermediate_size as number;
      const v = neuronView(r, 4);
      assert.ok(v?.up, 'a gated unit has its up projection');
      ids.forEach((_, t) => {
        assert.ok(Math.abs(v.pre[t] - (ref.gate as Float64Array)[t * dFf + 4]) < 1e-4, `gate ${t}`);
        assert.ok(Math.abs((v.up as Float32Array)[t] - (ref.up as Float64Array)[t * dFf + 4]) < 1e-4, `up ${t}`);
        assert.ok(Math.abs(v.hidden[t] - ref.hidden[t * dFf + 4]) < 1e-4, `product ${t}`);
      });
    } finally {
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
