// Writes the sample weight files in samples/ (used by `npm start` and by the integration and
// browser tests). Deterministic: the same files on every run and machine, so the outputs are
// committed and a diff shows any change. Run: `npx tsx scripts/makeSamples.ts`.
import * as fs from 'fs';
import * as path from 'path';
import { mulberry32 } from '../src/core/inputs';

const OUT = path.resolve(__dirname, '..', 'samples');

/** Uniform [0, 1) from the core's mulberry32, so the samples are the same bytes on every run. */
function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Seeded N(0, scale²) values rounded to 4 decimals (short files, still exact as JSON). */
function normal(next: () => number, n: number, scale: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u1 = next() || 1e-12;
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out.push(r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2));
  }
  return out.slice(0, n).map((v) => Math.round(v * scale * 1e4) / 1e4);
}

/** Row-major flat -> nested rows. */
function rows(flat: number[], r: number, c: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < r; i++) out.push(flat.slice(i * c, (i + 1) * c));
  return out;
}

/** JSON with one matrix row per line: readable, diffable and small. */
function stringify(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return JSON.stringify(value).replace(/,/g, ', ');
    return `[\n${value.map((v) => inner + stringify(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringify(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function write(name: string, content: string | Buffer): void {
  fs.writeFileSync(path.join(OUT, name), content);
  const kb = fs.statSync(path.join(OUT, name)).size / 1024;
  console.log(`samples/${name}  ${kb.toFixed(1)} KB`);
}

const WORDS = ['The', ' cat', ' sat', ' on', ' the', ' mat'];

/**
 * tiny-relu.json: d_model 2, d_ff 3, two tokens, worked out by hand (see samples/README.md):
 *   the: x=[1,2]    pre=[1,3,-1]    h=[1,3,0]  y=[1,3.5]
 *   cat: x=[-1,0.5] pre=[-1,2,-0.5] h=[0,2,0]  y=[0,2.5]
 */
function tinyRelu(): void {
  const file = {
    activation: 'relu',
    tokens: ['the', 'cat'],
    inputs: [
      [1, 2],
      [-1, 0.5],
    ],
    W1: [
      [1, -1, 0.5],
      [0, 2, -1],
    ],
    b1: [0, 0, 0.5],
    W2: [
      [1, 0],
      [0, 1],
      [1, 1],
    ],
    b2: [0, 0.5],
  };
  write('tiny-relu.json', stringify(file) + '\n');
  write('tiny-inputs.json', stringify({ tokens: ['a', 'b', 'c'], inputs: [[0, 1], [1, 0], [2, -2]] }) + '\n');
}

/** gpt2-small.json: two GPT-2 style layers (c_fc/c_proj, Conv1D [in,out]), d 32, f 128. */
function gpt2(): { tensors: Record<string, { shape: number[]; data: number[] }> } {
  const d = 32;
  const f = 128;
  const next = rng(2);
  const tensors: Record<string, { shape: number[]; data: number[] }> = {};
  const file: Record<string, unknown> = { model_type: 'gpt2', tokens: WORDS, inputs: rows(normal(next, WORDS.length * d, 1), WORDS.length, d) };
  for (let l = 0; l < 2; l++) {
    const p = `h.${l}.mlp.`;
    const t = {
      [`${p}c_fc.weight`]: { shape: [d, f], data: normal(next, d * f, 1 / Math.sqrt(d)) },
      [`${p}c_fc.bias`]: { shape: [f], data: normal(next, f, 0.5) },
      [`${p}c_proj.weight`]: { shape: [f, d], data: normal(next, f * d, 1 / Math.sqrt(f)) },
      [`${p}c_proj.bias`]: { shape: [d], data: normal(next, d, 0.1) },
    };
    for (const [k, v] of Object.entries(t)) {
      tensors[k] = v;
      file[k] = v.shape.length === 2 ? rows(v.data, v.shape[0], v.shape[1]) : v.data;
    }
  }
  write('gpt2-small.json', stringify(file) + '\n');
  return { tensors };
}

/** llama-swiglu.json: LLaMA style gate/up/down (torch Linear [out,in]), nested objects with
 * {shape, data} tensors, d 32, f 88, two layers, no biases, no inputs (random by default). */
function llama(): void {
  const d = 32;
  const f = 88;
  const next = rng(3);
  const layers: Record<string, unknown> = {};
  for (let l = 0; l < 2; l++) {
    layers[String(l)] = {
      mlp: {
        gate_proj: { weight: { shape: [f, d], data: normal(next, f * d, 1 / Math.sqrt(d)) } },
        up_proj: { weight: { shape: [f, d], data: normal(next, f * d, 1 / Math.sqrt(d)) } },
        down_proj: { weight: { shape: [d, f], data: normal(next, d * f, 1 / Math.sqrt(f)) } },
      },
    };
  }
  write('llama-swiglu.json', stringify({ model_type: 'llama', model: { layers } }) + '\n');
}

/** gpt2-small.safetensors: the same two layers as gpt2-small.json, F32 little endian. */
function safetensors(tensors: Record<string, { shape: number[]; data: number[] }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', source: 'scripts/makeSamples.ts' } };
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const bytes = tensors[name].data.length * 4;
    header[name] = { dtype: 'F32', shape: tensors[name].shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const body = Buffer.alloc(offset);
  let at = 0;
  for (const name of names) {
    for (const v of tensors[name].data) {
      body.writeFloatLE(v, at);
      at += 4;
    }
  }
  write('gpt2-small.safetensors', Buffer.concat([head, Buffer.from(json), body]));
}

/** not-a-layer.json: valid JSON with no FFN layer, to show the message users get. */
function notALayer(): void {
  write('not-a-layer.json', stringify({ name: 'settings, not weights', values: [1, 2, 3], nested: { ok: true } }) + '\n');
}

fs.mkdirSync(OUT, { recursive: true });
tinyRelu();
const { tensors } = gpt2();
llama();
safetensors(tensors);
notALayer();
