/**
 * Issue 10: a matrix decoded straight into the kernel's `panels` layout (no packing pass) holds
 * exactly what packing the plainly decoded matrix gives (the TypeScript reference packPanels), for
 * safetensors F32 and BF16 and GGUF F32, as stored and transposed, with k past one 512-row block and
 * n not a multiple of 8 (the padded lanes must read as zeros even in dirty memory); and products
 * with it match the float64 reference through the streamed one-shot run.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packPanels, panelsLength } from '../../src/core/gemm';
import { openSource } from '../../src/formats/open';
import { SLICE_LIMITS } from '../../src/formats/slices';
import { bf16Bits, safetensorsBytes } from '../helpers/binaryWriters';
import { buildGguf, f32Bytes, GGML_TYPE } from '../helpers/ggufWriter';

/** Independent transpose of a row-major r x c matrix. */
function transposed(m: Float32Array, r: number, c: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = m[i * c + j];
  return t;
}

describe('decoding straight into the kernel panels', function () {
  this.timeout(30000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-panels-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [R, C] = [530, 21]; // stored rows x cols: k = 530 > 512 as stored, n = 21 (not a multiple of 8)
  const values = Float32Array.from({ length: R * C }, (_, i) => Math.fround(Math.sin(i * 0.37) * 3));
  const bf16Values = values.map((v) => new Float32Array(new Uint32Array([bf16Bits(v) << 16]).buffer)[0]);
  const savedSlice = SLICE_LIMITS.bytes;
  // small slices, so a matrix is decoded over many commits
  before(() => (SLICE_LIMITS.bytes = 4 * C * 37));
  after(() => (SLICE_LIMITS.bytes = savedSlice));

  const files: [string, () => string, Float32Array][] = [
    ['safetensors F32', () => write('f32.safetensors', safetensorsBytes([{ name: 'w', dtype: 'F32', shape: [R, C], values: Array.from(values) }])), values],
    ['safetensors BF16', () => write('bf16.safetensors', safetensorsBytes([{ name: 'w', dtype: 'BF16', shape: [R, C], values: Array.from(values) }])), bf16Values],
    ['GGUF F32', () => write('f32.gguf', buildGguf({ tensors: [{ name: 'w', ne: [C, R], type: GGML_TYPE.F32, data: f32Bytes(Array.from(values)) }] }).bytes), values],
  ];
  function write(name: string, bytes: Uint8Array): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  }

  for (const [label, make, stored] of files) {
    for (const transpose of [false, true]) {
      it(`${label}, ${transpose ? 'transposed ([out, in] file)' : 'as stored ([in, out] file)'}`, async () => {
        const source = await openSource(make());
        try {
          assert.strictEqual(source.decodesPanels, true);
          const [k, n] = transpose ? [C, R] : [R, C];
          const core = transpose ? transposed(stored, R, C) : stored;
          const want = packPanels(core, k, n);
          // dirty memory: padding must be written, not assumed
          const into = (length: number): Float32Array => new Float32Array(length).fill(NaN);
          const got = transpose ? await source.readTransposed!('w', { panels: true, into }) : await source.read('w', { panels: true, into });
          assert.strictEqual(got.length, panelsLength(k, n));
          for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`value ${i}: ${got[i]} vs ${want[i]}`);
        } finally {
          await source.close();
        }
      });
    }
  }
});
