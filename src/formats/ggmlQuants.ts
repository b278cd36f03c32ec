/**
 * ggml tensor types: block sizes for every type a GGUF file may name, and dequantisation to
 * float32 for the ones FFN Lens decodes. Block layouts and loops follow ggml's `ggml-common.h`
 * (block_q4_0, block_q4_K, ...) and `ggml-quants.c` (dequantize_row_*). No `vscode` import.
 */
import { decodeBF16, decodeF16, decodeF32, f16ToF32 } from '../core/dtype';

/** One ggml type as GGUF numbers it. */
export interface GgmlTypeInfo {
  id: number;
  /** ggml's name: F32, Q4_K, IQ2_XXS... */
  name: string;
  /** Elements per block (1 for plain types, 32 or 256 for quantised ones). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** True when `dequantize` handles this type. */
  decodable: boolean;
}

const QK_K = 256;

// [id, name, blockSize, typeSize]: ggml's type_traits. Ids 4, 5 (Q4_2/Q4_3), 31-33 and 36-38
// (repacked Q4_0/IQ4_NL variants) were removed from GGUF and are treated as unknown.
const TYPE_TABLE: readonly [number, string, number, number][] = [
  [0, 'F32', 1, 4], [1, 'F16', 1, 2], [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20],
  [6, 'Q5_0', 32, 22], [7, 'Q5_1', 32, 24], [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36],
  [10, 'Q2_K', QK_K, 84], [11, 'Q3_K', QK_K, 110], [12, 'Q4_K', QK_K, 144], [13, 'Q5_K', QK_K, 176],
  [14, 'Q6_K', QK_K, 210], [15, 'Q8_K', QK_K, 292], [16, 'IQ2_XXS', QK_K, 66], [17, 'IQ2_XS', QK_K, 74],
  [18, 'IQ3_XXS', QK_K, 98], [19, 'IQ1_S', QK_K, 50], [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', QK_K, 110],
  [22, 'IQ2_S', QK_K, 82], [23, 'IQ4_XS', QK_K, 136], [24, 'I8', 1, 1], [25, 'I16', 1, 2],
  [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8], [29, 'IQ1_M', QK_K, 56],
  [30, 'BF16', 1, 2], [34, 'TQ1_0', QK_K, 54], [35, 'TQ2_0', QK_K, 66], [39, 'MXFP4', 32, 17],
];

/** Decodes `nBlocks` blocks from `src` (starting at byte `s`) into `out` (starting at `o`). */
type BlockDecoder = (src: Uint8Array, dv: DataView, s: number, out: Float32Array, o: number, nBlocks: number) => void;

const fr = Math.fround;

const halfAt = (dv: DataView, at: number): number => f16ToF32(dv.getUint16(at, true));

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at q[p..p+11]. */
export function scaleMinK4(j: number, q: Uint8Array, p: number): [scale: number, min: number] {
  if (j < 4) return [q[p + j] & 63, q[p + j + 4] & 63];
  return [(q[p + j + 4] & 0xf) | ((q[p + j - 4] >> 6) << 4), (q[p + j + 4] >> 4) | ((q[p + j] >> 6) << 4)];
}

const DECODERS: Record<string, BlockDecoder> = {
  F32(src, _dv, s, out, o, n) {
    decodeF32(src.subarray(s, s + 4 * n), true, out.subarray(o, o + n));
  },
  F16(src, _dv, s, out, o, n) {
    decodeF16(src.subarray(s, s + 2 * n), true, out.subarray(o, o + n));
  },
  BF16(src, _dv, s, out, o, n) {
    decodeBF16(src.subarray(s, s + 2 * n), true, out.subarray(o, o + n));
  },
  F64(_src, dv, s, out, o, n) {
    for (let i = 0; i < n; i++) out[o + i] = dv.getFloat64(s + 8 * i, true);
  },
  I8(_src, dv, s, out, o, n) {
    for (let i = 0; i < n; i++) out[o + i] = dv.getInt8(s + i);
  },
  I16(_src, dv, s, out, o, n) {
    for (let i = 0; i < n; i++) out[o + i] = dv.getInt16(s + 2 * i, true);
  },
  I32(_src, dv, s, out, o, n) {
    for (let i = 0; i < n; i++) out[o + i] = dv.getInt32(s + 4 * i, true);
  },
  I64(_src, dv, s, out, o, n) {
    for (let i = 0; i < n; i++) out[o + i] = Number(dv.getBigInt64(s + 8 * i, true));
  },
  // block_q4_0 { half d; u8 qs[16] }: low nibbles are elements 0..15, high nibbles 16..31.
  Q4_0(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 18, o += 32) {
      const d = halfAt(dv, s);
      for (let j = 0; j < 16; j++) {
        const q = src[s + 2 + j];
        out[o + j] = ((q & 0xf) - 8) * d;
        out[o + j + 16] = ((q >> 4) - 8) * d;
      }
    }
  },
  // block_q4_1 { half d, m; u8 qs[16] }: x = q*d + m.
  Q4_1(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 20, o += 32) {
      const d = halfAt(dv, s);
      const m = halfAt(dv, s + 2);
      for (let j = 0; j < 16; j++) {
        const q = src[s + 4 + j];
        out[o + j] = fr((q & 0xf) * d) + m;
        out[o + j + 16] = fr((q >> 4) * d) + m;
      }
    }
  },
  // block_q5_0 { half d; u8 qh[4]; u8 qs[16] }: bit j of qh is the 5th bit of element j.
  Q5_0(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 22, o += 32) {
      const d = halfAt(dv, s);
      const qh = dv.getUint32(s + 2, true);
      for (let j = 0; j < 16; j++) {
        const q = src[s + 6 + j];
        out[o + j] = (((q & 0xf) | (((qh >>> j) << 4) & 0x10)) - 16) * d;
        out[o + j + 16] = (((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
      }
    }
  },
  // block_q5_1 { half d, m; u8 qh[4]; u8 qs[16] }: x = q*d + m.
  Q5_1(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 24, o += 32) {
      const d = halfAt(dv, s);
      const m = halfAt(dv, s + 2);
      const qh = dv.getUint32(s + 4, true);
      for (let j = 0; j < 16; j++) {
        const q = src[s + 8 + j];
        out[o + j] = fr(((q & 0xf) | (((qh >>> j) << 4) & 0x10)) * d) + m;
        out[o + j + 16] = fr(((q >> 4) | ((qh >>> (j + 12)) & 0x10)) * d) + m;
      }
    }
  },
  // block_q8_0 { half d; i8 qs[32] }
  Q8_0(_src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 34, o += 32) {
      const d = halfAt(dv, s);
      for (let j = 0; j < 32; j++) out[o + j] = dv.getInt8(s + 2 + j) * d;
    }
  },
  // block_q8_1 { half d, s; i8 qs[32] }: s is a precomputed sum, not needed to decode.
  Q8_1(_src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 36, o += 32) {
      const d = halfAt(dv, s);
      for (let j = 0; j < 32; j++) out[o + j] = dv.getInt8(s + 4 + j) * d;
    }
  },
  // block_q2_K { u8 scales[16]; u8 qs[64]; half d, dmin }: 16 sub-blocks of 16, 4-bit scale and min.
  Q2_K(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 84) {
      const d = halfAt(dv, s + 80);
      const dmin = halfAt(dv, s + 82);
      let is = 0;
      for (let half = 0; half < 2; half++) {
        const q = s + 16 + 32 * half;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let k = 0; k < 2; k++) {
            const sc = src[s + is++];
            const dl = fr(d * (sc & 0xf));
            const ml = fr(dmin * (sc >> 4));
            for (let l = 0; l < 16; l++) out[o++] = fr(dl * ((src[q + 16 * k + l] >> shift) & 3)) - ml;
          }
        }
      }
    }
  },
  // block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d }: 16 signed 6-bit scales (-32 bias);
  // a clear hmask bit means subtract 4 from the 2-bit quant.
  Q3_K(src, dv, s, out, o, n) {
    const sc = new Int8Array(16);
    for (let b = 0; b < n; b++, s += 110) {
      const d = halfAt(dv, s + 108);
      const p = s + 96;
      for (let j = 0; j < 16; j++) {
        const low = j < 8 ? src[p + j] & 0xf : src[p + j - 8] >> 4;
        const high = (src[p + 8 + (j % 4)] >> (2 * Math.floor(j / 4))) & 3;
        sc[j] = (low | (high << 4)) - 32;
      }
      let is = 0;
      let m = 1;
      for (let half = 0; half < 2; half++) {
        const q = s + 32 + 32 * half;
        for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
          for (let k = 0; k < 2; k++) {
            const dl = fr(d * sc[is++]);
            for (let l = 0; l < 16; l++) {
              const idx = 16 * k + l;
              out[o++] = dl * (((src[q + idx] >> shift) & 3) - (src[s + idx] & m ? 0 : 4));
            }
          }
        }
      }
    }
  },
  // block_q4_K { half d, dmin; u8 scales[12]; u8 qs[128] }: 8 sub-blocks of 32, 6-bit scale and min.
  Q4_K(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 144) {
      const d = halfAt(dv, s);
      const dmin = halfAt(dv, s + 2);
      for (let j = 0; j < 4; j++) {
        const [sc1, m1] = scaleMinK4(2 * j, src, s + 4);
        const [sc2, m2] = scaleMinK4(2 * j + 1, src, s + 4);
        const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
        const q = s + 16 + 32 * j;
        for (let l = 0; l < 32; l++) out[o + l] = fr(d1 * (src[q + l] & 0xf)) - mm1;
        for (let l = 0; l < 32; l++) out[o + 32 + l] = fr(d2 * (src[q + l] >> 4)) - mm2;
        o += 64;
      }
    }
  },
  // block_q5_K { half d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }
  Q5_K(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 176) {
      const d = halfAt(dv, s);
      const dmin = halfAt(dv, s + 2);
      for (let j = 0; j < 4; j++) {
        const [sc1, m1] = scaleMinK4(2 * j, src, s + 4);
        const [sc2, m2] = scaleMinK4(2 * j + 1, src, s + 4);
        const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
        const u1 = 1 << (2 * j), u2 = 2 << (2 * j);
        const q = s + 48 + 32 * j;
        for (let l = 0; l < 32; l++) out[o + l] = fr(d1 * ((src[q + l] & 0xf) + (src[s + 16 + l] & u1 ? 16 : 0))) - mm1;
        for (let l = 0; l < 32; l++) out[o + 32 + l] = fr(d2 * ((src[q + l] >> 4) + (src[s + 16 + l] & u2 ? 16 : 0))) - mm2;
        o += 64;
      }
    }
  },
  // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; half d }: 16 sub-blocks of 16, 6-bit quants (-32 bias).
  Q6_K(src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 210) {
      const d = halfAt(dv, s + 208);
      for (let half = 0; half < 2; half++) {
        const ql = s + 64 * half;
        const qh = s + 128 + 32 * half;
        const sc = s + 192 + 8 * half;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const h = src[qh + l];
          const q1 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
          const q2 = ((src[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
          out[o + l] = fr(d * dv.getInt8(sc + is)) * q1;
          out[o + l + 32] = fr(d * dv.getInt8(sc + is + 2)) * q2;
          out[o + l + 64] = fr(d * dv.getInt8(sc + is + 4)) * q3;
          out[o + l + 96] = fr(d * dv.getInt8(sc + is + 6)) * q4;
        }
        o += 128;
      }
    }
  },
  // block_q8_K { float d; i8 qs[256]; i16 bsums[16] }
  Q8_K(_src, dv, s, out, o, n) {
    for (let b = 0; b < n; b++, s += 292, o += QK_K) {
      const d = dv.getFloat32(s, true);
      for (let j = 0; j < QK_K; j++) out[o + j] = d * dv.getInt8(s + 4 + j);
    }
  },
};

const BY_ID = new Map<number, GgmlTypeInfo>(
  TYPE_TABLE.map(([id, name, blockSize, typeSize]) => [id, { id, name, blockSize, typeSize, decodable: name in DECODERS }]),
);

/** The ggml type with GGUF id `id`, or undefined for ids GGUF does not (or no longer) define. */
export function ggmlType(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Names of the types `dequantize` decodes, for messages. */
export function decodableTypeNames(): string[] {
  return TYPE_TABLE.filter(([, name]) => name in DECODERS).map(([, name]) => name);
}

/**
 * Decodes whole blocks of `type` from `src` into `out` at `outOffset`. `src.length` must be a
 * multiple of the type's block bytes; writes `src.length / typeSize * blockSize` floats.
 * Throws a plain Error for a type that is not decodable (callers check `decodable` first).
 */
export function dequantize(type: GgmlTypeInfo, src: Uint8Array, out: Float32Array, outOffset = 0): void {
  const decode = DECODERS[type.name];
  if (!decode) throw new Error(`ggml type ${type.name} cannot be decoded`);
  if (src.length % type.typeSize !== 0) throw new Error(`${src.length} bytes is not a whole number of ${type.name} blocks`);
  const nBlocks = src.length / type.typeSize;
  if (outOffset + nBlocks * type.blockSize > out.length) throw new Error('output too small');
  decode(src, new DataView(src.buffer, src.byteOffset, src.byteLength), 0, out, outOffset, nBlocks);
}
