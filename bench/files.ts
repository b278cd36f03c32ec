/**
 * Large generated safetensors files for the benchmark, written in 4 MiB pieces so the bench never
 * holds a file in memory. The caller deletes them.
 */
import * as fs from 'fs';
import { fill } from './shapes';

export interface GenTensor {
  name: string;
  shape: number[];
  /** values are deterministic per seed; 0 writes zeros (fast filler) */
  seed: number;
  scale?: number;
  /** Stored dtype (default F32); BF16 keeps the upper half of each float32 (rounded to nearest even). */
  dtype?: 'F32' | 'BF16';
}

const PIECE = 1 << 20; // floats per write (4 MiB)

const dtypeBytes = (t: GenTensor): number => (t.dtype === 'BF16' ? 2 : 4);

/** float32 values to bf16 bits, rounded to nearest even (as torch's .to(torch.bfloat16)). */
function toBf16(values: Float32Array, out: Uint16Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * The start of a safetensors file: the header's length, then the header (tensors back to back in
 * the order given), padded so the data that follows is 8-byte aligned.
 */
export function safetensorsPrelude(tensors: { name: string; dtype: string; shape: number[]; bytes: number }[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes] };
    offset += t.bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8); // keep the data 8-byte aligned
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return Buffer.concat([len, Buffer.from(text)]);
}

/** Writes a safetensors file (F32, or BF16 per tensor); returns its size in bytes. */
export function writeSafetensors(path: string, tensors: GenTensor[]): number {
  const prelude = safetensorsPrelude(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype ?? 'F32', shape: t.shape, bytes: dtypeBytes(t) * t.shape.reduce((a, b) => a * b, 1) })),
    { format: 'pt', source: 'bench/files.ts' },
  );
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, prelude);
    const piece = new Float32Array(PIECE);
    const half = new Uint16Array(PIECE);
    for (const t of tensors) {
      let left = t.shape.reduce((a, b) => a * b, 1);
      let seed = t.seed;
      while (left > 0) {
        const n = Math.min(left, PIECE);
        const view = piece.subarray(0, n);
        if (t.seed === 0) view.fill(0);
        else fill(view, seed++, t.scale ?? 1);
        if (t.dtype === 'BF16') fs.writeSync(fd, new Uint8Array(toBf16(view, half).buffer, 0, n * 2));
        else fs.writeSync(fd, new Uint8Array(view.buffer, 0, n * 4));
        left -= n;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(path).size;
}

/** A GPT-2-small-like file of about 1 GB: embeddings, one MLP layer (h.0, float32) and filler. */
export function gpt2Tensors(): GenTensor[] {
  const d = 768;
  const f = 3072;
  return [
    { name: 'transformer.wte.weight', shape: [50257, d], seed: 0 },
    { name: 'transformer.wpe.weight', shape: [1024, d], seed: 0 },
    { name: 'h.0.attn.c_attn.weight', shape: [d, 3 * d], seed: 0 },
    { name: 'h.0.mlp.c_fc.weight', shape: [d, f], seed: 11, scale: 1 / Math.sqrt(d) },
    { name: 'h.0.mlp.c_fc.bias', shape: [f], seed: 12, scale: 0.1 },
    { name: 'h.0.mlp.c_proj.weight', shape: [f, d], seed: 13, scale: 1 / Math.sqrt(f) },
    { name: 'h.0.mlp.c_proj.bias', shape: [d], seed: 14, scale: 0.1 },
    ...Array.from({ length: 6 }, (_, i) => ({ name: `extra.${i}.weight`, shape: [4096, 8192], seed: 0 })),
  ];
}

/** One B-sized plain layer (d_model 4096, d_ff 11008), GPT-2 naming, about 360 MB. */
export function bTensors(): GenTensor[] {
  const d = 4096;
  const f = 11008;
  return [
    { name: 'h.0.mlp.c_fc.weight', shape: [d, f], seed: 21, scale: 1 / Math.sqrt(d) },
    { name: 'h.0.mlp.c_fc.bias', shape: [f], seed: 22, scale: 0.1 },
    { name: 'h.0.mlp.c_proj.weight', shape: [f, d], seed: 23, scale: 1 / Math.sqrt(f) },
    { name: 'h.0.mlp.c_proj.bias', shape: [d], seed: 24, scale: 0.1 },
  ];
}

/** LLaMA-7B's MLP of block 0 in bf16 (d_model 4096, d_ff 11008, SwiGLU), Hugging Face names, about 270 MB. */
export function llamaMlpTensors(): GenTensor[] {
  const d = 4096;
  const f = 11008;
  return [
    { name: 'model.layers.0.mlp.gate_proj.weight', shape: [f, d], seed: 31, scale: 1 / Math.sqrt(d), dtype: 'BF16' },
    { name: 'model.layers.0.mlp.up_proj.weight', shape: [f, d], seed: 32, scale: 1 / Math.sqrt(d), dtype: 'BF16' },
    { name: 'model.layers.0.mlp.down_proj.weight', shape: [d, f], seed: 33, scale: 1 / Math.sqrt(f), dtype: 'BF16' },
  ];
}

/** GPT-2 small's MLP of block 0 alone in float32 (768 -> 3072, Conv1D [in, out] layout), about 19 MB. */
export function gpt2MlpTensors(): GenTensor[] {
  return gpt2Tensors().filter((t) => t.name.includes('.mlp.'));
}
