/**
 * Quantised GGUF tensors: every block here is built byte by byte, and every expected value is worked
 * out from the block formula in ggml's dequantize_row_* (comments show the arithmetic), not taken
 * from the reader. Each tensor goes through a real GGUF file and `openGgufSource(...).read`.
 */
import * as assert from 'assert';
import { openGgufSource } from '../../src/formats/gguf';
import { GGML_TYPE, buildGguf, removeTempFiles, writeTemp } from '../helpers/ggufWriter';

const F16_1 = 0x3c00, F16_HALF = 0x3800, F16_QUARTER = 0x3400, F16_EIGHTH = 0x3000, F16_2 = 0x4000, F16_MINUS_1 = 0xbc00;

/** Little-endian bytes of a u16. */
const h = (w: number): number[] => [w & 0xff, w >> 8];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
/** A fixed pseudo-random byte pattern (every nibble value shows up). */
const pattern = (n: number, mul: number, add: number): number[] => Array.from({ length: n }, (_, i) => (i * mul + add) & 0xff);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function decode(type: number, ne: number[], bytes: number[]): Promise<{ values: number[]; shape: number[]; dtype: string }> {
  const file = await writeTemp('q.gguf', buildGguf({ tensors: [{ name: 'w', ne, type, data: Uint8Array.from(bytes) }] }).bytes);
  const src = await openGgufSource(file);
  try {
    const values = Array.from(await src.read('w'));
    assert.strictEqual(src.bytesRead > 0, true);
    return { values, shape: src.tensors[0].shape, dtype: src.tensors[0].dtype };
  } finally {
    await src.close();
  }
}

// Root-level hook: removes the fixtures once every test in this run is done.
after(removeTempFiles);

describe('gguf: 32-element block types', () => {
  it('Q4_0: (q - 8) * d, low nibbles first', async () => {
    // Block 0: d = 0.5; qs[j] = j | (15 - j) << 4, so element j has q = j and element 16 + j has q = 15 - j.
    // Block 1: d = -1; every qs byte 0x0f: low nibble 15 -> (15 - 8) * -1 = -7, high nibble 0 -> (0 - 8) * -1 = 8.
    const block0 = [...h(F16_HALF), ...range(16).map((j) => j | ((15 - j) << 4))];
    const block1 = [...h(F16_MINUS_1), ...new Array(16).fill(0x0f)];
    const { values, shape, dtype } = await decode(GGML_TYPE.Q4_0, [32, 2], [...block0, ...block1]);
    assert.strictEqual(dtype, 'Q4_0');
    assert.deepStrictEqual(shape, [2, 32]);
    const firstHalf = [-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]; // (0-8)*0.5 ... (15-8)*0.5
    assert.deepStrictEqual(values.slice(0, 16), firstHalf);
    assert.deepStrictEqual(values.slice(16, 32), [...firstHalf].reverse());
    assert.deepStrictEqual(values.slice(32), [...new Array(16).fill(-7), ...new Array(16).fill(8)]);
  });

  it('Q4_1: q * d + m', async () => {
    // d = 0.25, m = -1; qs[j] = (15 - j) | j << 4: element j = (15 - j) * 0.25 - 1, element 16 + j = j * 0.25 - 1.
    const bytes = [...h(F16_QUARTER), ...h(F16_MINUS_1), ...range(16).map((j) => (15 - j) | (j << 4))];
    const { values } = await decode(GGML_TYPE.Q4_1, [32], bytes);
    const down = [2.75, 2.5, 2.25, 2, 1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0, -0.25, -0.5, -0.75, -1];
    assert.deepStrictEqual(values, [...down, ...[...down].reverse()]);
  });

  it('Q5_0: qh bit e is the fifth bit of element e; (q - 16) * d', async () => {
    // d = 1; qs[j] = j | j << 4 (elements j and 16 + j both have low bits j);
    // qh bits 0, 3, 15, 16, 20, 31 set: 0x80118009.
    const bits = new Set([0, 3, 15, 16, 20, 31]);
    const bytes = [...h(F16_1), ...u32(0x80118009), ...range(16).map((j) => j | (j << 4))];
    const { values } = await decode(GGML_TYPE.Q5_0, [32], bytes);
    assert.strictEqual(values[0], 0); // (0 + 16) - 16
    assert.strictEqual(values[1], -15); // (1 + 0) - 16
    assert.strictEqual(values[15], 15); // (15 + 16) - 16
    assert.strictEqual(values[16], 0); // (0 + 16) - 16: bit 16 is the high bit of the second half's first element
    assert.strictEqual(values[20], 4); // (4 + 16) - 16
    assert.strictEqual(values[30], -2); // (14 + 0) - 16
    assert.strictEqual(values[31], 15); // (15 + 16) - 16
    assert.deepStrictEqual(values, range(32).map((e) => (e % 16) + (bits.has(e) ? 16 : 0) - 16));
  });

  it('Q5_1: q * d + m with the qh fifth bits', async () => {
    // d = 0.5, m = 2; qs[j] = j | (15 - j) << 4; qh bits 1, 17, 30: 0x40020002.
    const bits = new Set([1, 17, 30]);
    const bytes = [...h(F16_HALF), ...h(F16_2), ...u32(0x40020002), ...range(16).map((j) => j | ((15 - j) << 4))];
    const { values } = await decode(GGML_TYPE.Q5_1, [32], bytes);
    assert.strictEqual(values[0], 2); // 0 * 0.5 + 2
    assert.strictEqual(values[1], 10.5); // (1 + 16) * 0.5 + 2
    assert.strictEqual(values[16], 9.5); // 15 * 0.5 + 2
    assert.strictEqual(values[17], 17); // (14 + 16) * 0.5 + 2
    assert.strictEqual(values[30], 10.5); // (1 + 16) * 0.5 + 2
    const q = (e: number): number => (e < 16 ? e : 15 - (e - 16)) + (bits.has(e) ? 16 : 0);
    assert.deepStrictEqual(values, range(32).map((e) => q(e) * 0.5 + 2));
  });

  it('Q8_0: int8 * d', async () => {
    // d = 0.125; qs[j] = 8j - 128 (as int8 bytes) -> (8j - 128) * 0.125 = j - 16.
    const bytes = [...h(F16_EIGHTH), ...range(32).map((j) => (8 * j - 128) & 0xff)];
    const { values } = await decode(GGML_TYPE.Q8_0, [32], bytes);
    assert.deepStrictEqual(values, range(32).map((j) => j - 16));
  });

  it('Q8_1: int8 * d (the stored sum is ignored)', async () => {
    // d = 2, s = 0x1234 (unused); qs[j] = j - 16 -> 2 * (j - 16).
    const bytes = [...h(F16_2), ...h(0x1234), ...range(32).map((j) => (j - 16) & 0xff)];
    const { values } = await decode(GGML_TYPE.Q8_1, [32], bytes);
    assert.deepStrictEqual(values, range(32).map((j) => 2 * (j - 16)));
  });
});

describe('gguf: 256-element K-quant super-blocks', () => {
  // Eight 6-bit (scale, min) pairs, packed by hand the way ggml's get_scale_min_k4 unpacks them:
  //   sc = [1, 2, 3, 4, 5, 33, 63, 10], m = [0, 1, 2, 3, 40, 5, 6, 63]
  //   bytes 0..3:  sc[0..3] | (sc[4..7] >> 4) << 6  = [1 | 0, 2 | 2<<6, 3 | 3<<6, 4 | 0]   = [1, 130, 195, 4]
  //   bytes 4..7:  m[0..3]  | (m[4..7] >> 4) << 6   = [0 | 2<<6, 1 | 0, 2 | 0, 3 | 3<<6]   = [128, 1, 2, 195]
  //   bytes 8..11: (sc[j] & 15) | (m[j] & 15) << 4  = [5 | 8<<4, 1 | 5<<4, 15 | 6<<4, 10 | 15<<4] = [133, 81, 111, 250]
  // Unpacking sub-block 5: scale = (b[9] & 15) | (b[1] >> 6) << 4 = 1 | 2<<4 = 33; min = (b[9] >> 4) | (b[5] >> 6) << 4 = 5.
  // Unpacking sub-block 7: scale = (b[11] & 15) | (b[3] >> 6) << 4 = 10; min = (b[11] >> 4) | (b[7] >> 6) << 4 = 15 | 48 = 63.
  const SC = [1, 2, 3, 4, 5, 33, 63, 10];
  const MIN = [0, 1, 2, 3, 40, 5, 6, 63];
  const K_SCALES = [1, 130, 195, 4, 128, 1, 2, 195, 133, 81, 111, 250];

  it('Q4_K: d * sc * q - dmin * m over 8 sub-blocks of 32', async () => {
    // d = 1, dmin = 0.5; qs[i] = (37i + 11) & 255. Sub-blocks 2p and 2p+1 share qs[32p .. 32p+31]:
    // the even one takes the low nibbles, the odd one the high nibbles.
    const qs = pattern(128, 37, 11);
    const block = [...h(F16_1), ...h(F16_HALF), ...K_SCALES, ...qs];
    // A second super-block with d = 2, dmin = 1 decodes to exactly twice the first.
    const block2 = [...h(F16_2), ...h(F16_1), ...K_SCALES, ...qs];
    const { values, shape } = await decode(GGML_TYPE.Q4_K, [256, 2], [...block, ...block2]);
    assert.deepStrictEqual(shape, [2, 256]);
    assert.strictEqual(values[130], 5); // sub-block 4, qs[66] = 149 = 0x95, low 5: 1*5*5 - 0.5*40
    assert.strictEqual(values[160], 129.5); // sub-block 5, qs[64] = 75 = 0x4b, high 4: 1*33*4 - 0.5*5
    assert.strictEqual(values[200], 186); // sub-block 6, qs[104] = 19 = 0x13, low 3: 1*63*3 - 0.5*6
    assert.strictEqual(values[255], 28.5); // sub-block 7, qs[127] = 102 = 0x66, high 6: 1*10*6 - 0.5*63
    const expected = range(256).map((e) => {
      const sb = e >> 5;
      const byte = qs[32 * (sb >> 1) + (e & 31)];
      const q = sb % 2 === 0 ? byte & 15 : byte >> 4;
      return 1 * SC[sb] * q - 0.5 * MIN[sb];
    });
    assert.deepStrictEqual(values.slice(0, 256), expected);
    assert.deepStrictEqual(values.slice(256), expected.map((v) => 2 * v));
  });

  it('Q5_K: like Q4_K plus a fifth bit from qh (bit sb of qh[l])', async () => {
    // d = 0.5, dmin = 1; qh[l] = (53l + 7) & 255; qs[i] = (29i + 3) & 255.
    const qh = pattern(32, 53, 7);
    const qs = pattern(128, 29, 3);
    const block = [...h(F16_HALF), ...h(F16_1), ...K_SCALES, ...qh, ...qs];
    const { values } = await decode(GGML_TYPE.Q5_K, [256], block);
    // Element 7 (sub-block 0, l = 7): qs[7] = 206 = 0xce, low 14; qh[7] = 122 = 0b01111010, bit 0 = 0 -> 0.5*1*14 - 0 = 7.
    assert.strictEqual(values[7], 7);
    // Element 225 (sub-block 7, l = 1): qs[97] = 2816 & 255 = 0, high 0; qh[1] = 60 = 0b00111100, bit 7 = 0 -> 0.5*10*0 - 63 = -63.
    assert.strictEqual(values[225], -63);
    // Element 165 (sub-block 5, l = 5): qs[69] = 212 = 0xd4, high 13; qh[5] = 16 = 0b00010000, bit 5 = 0 -> 0.5*33*13 - 5 = 209.5.
    assert.strictEqual(values[165], 209.5);
    // Element 36 (sub-block 1, l = 4): qs[4] = 119 = 0x77, high 7; qh[4] = 219 = 0b11011011, bit 1 = 1 -> 0.5*2*(7+16) - 1 = 22.
    assert.strictEqual(values[36], 22);
    const expected = range(256).map((e) => {
      const sb = e >> 5;
      const l = e & 31;
      const byte = qs[32 * (sb >> 1) + l];
      const q = (sb % 2 === 0 ? byte & 15 : byte >> 4) + ((qh[l] >> sb) & 1) * 16;
      return 0.5 * SC[sb] * q - 1 * MIN[sb];
    });
    assert.deepStrictEqual(values, expected);
  });

  it('Q6_K: d * scale[e/16] * (q - 32), q = 4 bits of ql | 2 bits of qh << 4', async () => {
    // d = 0.25; 16 int8 scales; ql[i] = (41i + 5) & 255; qh[i] = (23i + 200) & 255.
    const scales = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 127, -128];
    const ql = pattern(128, 41, 5);
    const qhBytes = pattern(64, 23, 200);
    const block = [...ql, ...qhBytes, ...scales.map((s) => s & 0xff), ...h(F16_QUARTER)];
    const { values } = await decode(GGML_TYPE.Q6_K, [256], block);
    // Element 0: ql[0] = 5, low 5; qh[0] = 200 = 0b11001000, bits 0-1 = 0 -> q = 5: 0.25 * 1 * (5 - 32) = -6.75.
    assert.strictEqual(values[0], -6.75);
    // Element 40 (first half, group 1, l = 8): ql[40] = 109 = 0x6d, low 13; qh[8] = 128 = 0b10000000, bits 2-3 = 0
    //   -> q = 13, scale[40 >> 4 = 2] = 2: 0.25 * 2 * (13 - 32) = -9.5.
    assert.strictEqual(values[40], -9.5);
    // Element 230 (second half, group 3, l = 6): ql[64 + 32 + 6 = 102] = 91 = 0x5b, high 5;
    //   qh[32 + 6 = 38] = 50 = 0b00110010, bits 6-7 = 0 -> q = 5, scale[14] = 127: 0.25 * 127 * (5 - 32) = -857.25.
    assert.strictEqual(values[230], -857.25);
    // Element 255: ql[127] = 92 = 0x5c, high 5; qh[63] = 113 = 0b01110001, bits 6-7 = 1 -> q = 5 | 1 << 4 = 21,
    //   scale[15] = -128: 0.25 * -128 * (21 - 32) = 352.
    assert.strictEqual(values[255], 352);
    const expected = range(256).map((e) => {
      const half = e >> 7;
      const group = (e & 127) >> 5; // which of the four 32-element groups in this half
      const l = e & 31;
      const lowByte = ql[64 * half + l + 32 * (group & 1)];
      const low = group < 2 ? lowByte & 15 : lowByte >> 4;
      const high = (qhBytes[32 * half + l] >> (2 * group)) & 3;
      return 0.25 * scales[e >> 4] * ((low | (high << 4)) - 32);
    });
    assert.deepStrictEqual(values, expected);
  });

  it('Q2_K: d * (sc & 15) * q - dmin * (sc >> 4), 2-bit quants', async () => {
    // d = 0.5, dmin = 0.25; scales[i] = (19i + 9) & 255 (low nibble scale, high nibble min); qs[i] = (97i + 13) & 255.
    const sc = pattern(16, 19, 9);
    const qs = pattern(64, 97, 13);
    const block = [...sc, ...qs, ...h(F16_HALF), ...h(F16_QUARTER)];
    const { values } = await decode(GGML_TYPE.Q2_K, [256], block);
    // Element 0: sub-block 0, sc[0] = 9 (scale 9, min 0); qs[0] = 13 = 0b00001101, bits 0-1 = 1 -> 0.5*9*1 - 0 = 4.5.
    assert.strictEqual(values[0], 4.5);
    // Element 150 (second half, shift 0, second 16 of the pair, l = 6): sub-block 9, sc[9] = 180 = 0xb4 (scale 4, min 11);
    //   qs[32 + 16 + 6 = 54] = 131 = 0b10000011, bits 0-1 = 3 -> 0.5*4*3 - 0.25*11 = 3.25.
    assert.strictEqual(values[150], 3.25);
    const expected = range(256).map((e) => {
      const r = e & 127;
      const shift = 2 * (r >> 5);
      const q = (qs[32 * (e >> 7) + 16 * ((r >> 4) & 1) + (r & 15)] >> shift) & 3;
      const s = sc[e >> 4];
      return 0.5 * (s & 15) * q - 0.25 * (s >> 4);
    });
    assert.deepStrictEqual(values, expected);
  });

  it('Q3_K: d * (6-bit scale - 32) * (2-bit q - (hmask bit ? 0 : 4))', async () => {
    // Sixteen biased 6-bit scales packed like quantize_row_q3_K_ref: low 4 bits in bytes 0..7
    // (low nibble for sub-blocks 0..7, high nibble for 8..15), top 2 bits in bytes 8..11.
    const u = [32, 33, 31, 0, 63, 40, 20, 32, 34, 30, 48, 16, 1, 62, 32, 45];
    const packed = new Array(12).fill(0);
    u.forEach((v, j) => {
      if (j < 8) packed[j] |= v & 15;
      else packed[j - 8] |= (v & 15) << 4;
      packed[8 + (j % 4)] |= (v >> 4) << (2 * Math.floor(j / 4));
    });
    // By hand for two of them: sub-block 4 (u = 63 = 0b111111): low 15 in packed[4] & 15, top 3 in packed[8] bits 2-3;
    // sub-block 13 (u = 62 = 0b111110): low 14 in packed[5] >> 4, top 3 in packed[9] bits 6-7.
    assert.strictEqual(packed[4] & 15, 15);
    assert.strictEqual((packed[8] >> 2) & 3, 3);
    assert.strictEqual(packed[5] >> 4, 14);
    assert.strictEqual((packed[9] >> 6) & 3, 3);
    const hmask = pattern(32, 71, 17);
    const qs = pattern(64, 97, 13);
    const block = [...hmask, ...qs, ...packed, ...h(F16_HALF)];
    const { values } = await decode(GGML_TYPE.Q3_K, [256], block);
    // Element 64 (first half, shift 4, l = 0): sub-block 4, scale 63 - 32 = 31; qs[0] = 13 = 0b00001101, bits 4-5 = 0;
    //   hmask[0] = 17 = 0b00010001, bit 2 = 0 -> q = 0 - 4: 0.5 * 31 * -4 = -62.
    assert.strictEqual(values[64], -62);
    // Element 211 (second half, shift 4, second 16, l = 3): sub-block 13, scale 62 - 32 = 30;
    //   qs[32 + 16 + 3 = 51] = 96 = 0b01100000, bits 4-5 = 2; hmask[19] = 86 = 0b01010110, bit 4 + 2 = 6 is set -> q = 2: 0.5 * 30 * 2 = 30.
    assert.strictEqual(values[211], 30);
    const expected = range(256).map((e) => {
      const half = e >> 7;
      const r = e & 127;
      const j = r >> 5;
      const k = (r >> 4) & 1;
      const l = r & 15;
      const q2 = (qs[32 * half + 16 * k + l] >> (2 * j)) & 3;
      const hbit = (hmask[16 * k + l] >> (4 * half + j)) & 1;
      return 0.5 * (u[e >> 4] - 32) * (q2 - (hbit ? 0 : 4));
    });
    assert.deepStrictEqual(values, expected);
  });

  it('Q8_K: float32 d * int8', async () => {
    // d = 0.375 as a float32; qs[i] = (7i mod 256) - 128; 16 int16 bsums (unused).
    const d = new Uint8Array(new Float32Array([0.375]).buffer);
    const qs = range(256).map((i) => ((7 * i) % 256) - 128);
    const block = [...d, ...qs.map((q) => q & 0xff), ...new Array(32).fill(0)];
    const { values } = await decode(GGML_TYPE.Q8_K, [256], block);
    assert.strictEqual(values[1], -45.375); // (7 - 128) * 0.375 = -121 * 0.375
    assert.deepStrictEqual(values, qs.map((q) => 0.375 * q));
  });
});
