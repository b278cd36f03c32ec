// Writes samples/gpt2-mini.safetensors: a GPT-2-shaped checkpoint (embeddings, 4 blocks of layer
// norms, attention and MLP, final norm) with seeded random weights in mixed dtypes (F16, BF16, F32),
// about 400 KB. It shows the weight viewer on a file laid out like a real one and is what the
// browser test opens. Deterministic: the same bytes on every run and machine, so it is committed.
// Run: `npx tsx scripts/makeBinarySamples.ts`.
import * as fs from 'fs';
import * as path from 'path';
import { mulberry32 } from '../src/core/inputs';

const OUT = path.resolve(__dirname, '..', 'samples', 'gpt2-mini.safetensors');
const VOCAB = 256;
const CONTEXT = 64;
const D_MODEL = 48;
const D_FF = 4 * D_MODEL;
const BLOCKS = 4;

/** Uniform [0, 1) from the core's mulberry32, so the samples are the same bytes on every run. */
function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

const next = rng(20240611);

/** n seeded N(mean, scale²) values (Box-Muller). */
function normal(n: number, scale: number, mean = 0): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const r = Math.sqrt(-2 * Math.log(next() || 1e-12));
    const a = 2 * Math.PI * next();
    out.push(mean + scale * r * Math.cos(a), mean + scale * r * Math.sin(a));
  }
  return out.slice(0, n);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits, round to nearest even (no NaN here). */
function bf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE half bits, round to nearest even; the values here are normal halves (|x| in [2^-14, 65504]) or tiny. */
function f16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = ((b >>> 23) & 0xff) - 127 + 15;
  if (e <= 0) return sign; // flush the (rare) subnormals to zero: fine for a sample
  if (e >= 31) return sign | 0x7c00;
  const mant = b & 0x7fffff;
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

type Dtype = 'F32' | 'F16' | 'BF16';

function encode(dtype: Dtype, values: number[]): Buffer {
  if (dtype === 'F32') {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return b;
  }
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(dtype === 'F16' ? f16(v) : bf16(v), i * 2));
  return b;
}

const tensors: { name: string; dtype: Dtype; shape: number[]; data: Buffer }[] = [];
function add(name: string, dtype: Dtype, shape: number[], values: number[]): void {
  tensors.push({ name, dtype, shape, data: encode(dtype, values) });
}

const n = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const zeros = (k: number): number[] => new Array<number>(k).fill(0);

add('wte.weight', 'F16', [VOCAB, D_MODEL], normal(VOCAB * D_MODEL, 0.1));
add('wpe.weight', 'F32', [CONTEXT, D_MODEL], normal(CONTEXT * D_MODEL, 0.02));
for (let l = 0; l < BLOCKS; l++) {
  const h = `h.${l}`;
  add(`${h}.ln_1.weight`, 'F32', [D_MODEL], normal(D_MODEL, 0.05, 1));
  add(`${h}.ln_1.bias`, 'F32', [D_MODEL], normal(D_MODEL, 0.02));
  add(`${h}.attn.c_attn.weight`, 'BF16', [D_MODEL, 3 * D_MODEL], normal(n([D_MODEL, 3 * D_MODEL]), 1 / Math.sqrt(D_MODEL)));
  add(`${h}.attn.c_attn.bias`, 'F32', [3 * D_MODEL], normal(3 * D_MODEL, 0.02));
  add(`${h}.attn.c_proj.weight`, 'BF16', [D_MODEL, D_MODEL], normal(D_MODEL * D_MODEL, 1 / Math.sqrt(D_MODEL)));
  add(`${h}.attn.c_proj.bias`, 'F32', [D_MODEL], zeros(D_MODEL));
  add(`${h}.ln_2.weight`, 'F32', [D_MODEL], normal(D_MODEL, 0.05, 1));
  add(`${h}.ln_2.bias`, 'F32', [D_MODEL], normal(D_MODEL, 0.02));
  // GPT-2's Conv1D layout: c_fc [d_model, d_ff], c_proj [d_ff, d_model].
  add(`${h}.mlp.c_fc.weight`, 'F32', [D_MODEL, D_FF], normal(D_MODEL * D_FF, 1 / Math.sqrt(D_MODEL)));
  add(`${h}.mlp.c_fc.bias`, 'F32', [D_FF], normal(D_FF, 0.1, -0.1));
  add(`${h}.mlp.c_proj.weight`, 'F32', [D_FF, D_MODEL], normal(D_FF * D_MODEL, 1 / Math.sqrt(D_FF)));
  add(`${h}.mlp.c_proj.bias`, 'F32', [D_MODEL], normal(D_MODEL, 0.02));
}
add('ln_f.weight', 'F32', [D_MODEL], normal(D_MODEL, 0.05, 1));
add('ln_f.bias', 'F32', [D_MODEL], normal(D_MODEL, 0.02));

// Header in file order, data 8-byte aligned as the safetensors library writes it.
const header: Record<string, unknown> = {
  __metadata__: { format: 'pt', model: 'gpt2-mini (seeded random weights)', source: 'scripts/makeBinarySamples.ts' },
};
let offset = 0;
for (const t of tensors) {
  header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
  offset += t.data.length;
}
let json = JSON.stringify(header);
while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
const length = Buffer.alloc(8);
length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
const bytes = Buffer.concat([length, Buffer.from(json), ...tensors.map((t) => t.data)]);
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, bytes);
console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${tensors.length} tensors, ${bytes.length} bytes`);
