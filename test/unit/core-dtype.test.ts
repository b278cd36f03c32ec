import * as assert from 'assert';
import { isFfnLensError } from '../../src/core/errors';
import { bf16ToF32, decodeBF16, decodeF16, decodeF32, decodeF64, f16ToF32 } from '../../src/core/dtype';

/** `bytes` placed at an odd offset of a larger buffer, so nothing is aligned. */
function unaligned(bytes: number[]): Uint8Array {
  const buf = new Uint8Array(bytes.length + 3);
  buf.set(bytes, 1);
  return buf.subarray(1, 1 + bytes.length);
}

const same = (a: number, b: number): boolean => Object.is(a, b);

describe('core/dtype', () => {
  describe('f16', () => {
    // IEEE 754 binary16 patterns with their known values.
    const known: Array<[number, number]> = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0400, 6.103515625e-5], // smallest normal, 2^-14
      [0x03ff, 6.097555160522461e-5], // largest subnormal, 1023 · 2^-24
      [0x0001, 5.960464477539063e-8], // smallest subnormal, 2^-24
      [0x8001, -5.960464477539063e-8],
      [0x0000, 0],
      [0x8000, -0],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of known) {
      it(`0x${bits.toString(16).padStart(4, '0')} = ${Object.is(value, -0) ? '-0' : value}`, () => {
        assert.ok(same(f16ToF32(bits), value), `got ${f16ToF32(bits)}`);
      });
    }
    it('NaN patterns', () => {
      for (const bits of [0x7e00, 0x7c01, 0xfe00, 0x7fff]) assert.ok(Number.isNaN(f16ToF32(bits)), bits.toString(16));
    });
    it('is strictly increasing over the positive patterns, each a float32', () => {
      let prev = -1;
      for (let b = 0; b <= 0x7c00; b++) {
        const v = f16ToF32(b);
        assert.ok(v > prev, `0x${b.toString(16)}`);
        assert.strictEqual(Math.fround(v), v);
        assert.ok(same(f16ToF32(b | 0x8000), -v));
        prev = v;
      }
    });
    it('bulk decoding, little- and big-endian, unaligned', () => {
      const le = decodeF16(unaligned([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x00, 0x7e]));
      assert.deepStrictEqual(Array.from(le), [1, -2, 65504, 5.960464477539063e-8, Infinity, NaN]);
      const be = decodeF16(unaligned([0x3c, 0x00, 0xc0, 0x00, 0x80, 0x00]), false);
      assert.deepStrictEqual(Array.from(be), [1, -2, -0]);
      assert.deepStrictEqual(Array.from(decodeF16(new Uint8Array(0))), []);
    });
  });

  describe('bf16', () => {
    const known: Array<[number, number]> = [
      [0x3f80, 1],
      [0x4049, 3.140625],
      [0xc000, -2],
      [0x7f7f, 3.3895313892515355e38], // largest finite: 255 · 2^120
      [0x0001, 9.183549615799121e-41], // smallest subnormal: 2^-133
      [0x8000, -0],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
    ];
    for (const [bits, value] of known) {
      it(`0x${bits.toString(16).padStart(4, '0')} = ${Object.is(value, -0) ? '-0' : value}`, () => {
        assert.ok(same(bf16ToF32(bits), value), `got ${bf16ToF32(bits)}`);
      });
    }
    it('NaN', () => assert.ok(Number.isNaN(bf16ToF32(0x7fc0)) && Number.isNaN(bf16ToF32(0xffc1))));
    it('bulk decoding, little- and big-endian, unaligned', () => {
      assert.deepStrictEqual(Array.from(decodeBF16(unaligned([0x80, 0x3f, 0x49, 0x40, 0xc0, 0x7f]))), [1, 3.140625, NaN]);
      assert.deepStrictEqual(Array.from(decodeBF16(unaligned([0x3f, 0x80, 0xc0, 0x00, 0xff, 0x80]), false)), [1, -2, -Infinity]);
      // aligned, little-endian: the 16-bit fast path, sign bit included (0xc000 = -2, 0xff80 = -Inf, 0x8000 = -0)
      const aligned = new Uint8Array([0x80, 0x3f, 0x00, 0xc0, 0x80, 0xff, 0x00, 0x80, 0x49, 0x40]);
      const got = Array.from(decodeBF16(aligned));
      assert.deepStrictEqual(got, [1, -2, -Infinity, -0, 3.140625]);
      assert.ok(Object.is(got[3], -0));
    });
  });

  describe('f32 and f64', () => {
    it('f32, both byte orders, unaligned', () => {
      // 1.0f = 0x3F800000, -0.5f = 0xBF000000
      assert.deepStrictEqual(Array.from(decodeF32(unaligned([0, 0, 0x80, 0x3f, 0, 0, 0, 0xbf]))), [1, -0.5]);
      assert.deepStrictEqual(Array.from(decodeF32(unaligned([0x3f, 0x80, 0, 0, 0x7f, 0x80, 0, 0]), false)), [1, Infinity]);
    });
    it('f64, both byte orders, unaligned, rounded to float32', () => {
      // 1.5 = 0x3FF8000000000000; 0.1 = 0x3FB999999999999A
      const le = [0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f];
      assert.deepStrictEqual(Array.from(decodeF64(unaligned(le))), [1.5, Math.fround(0.1)]);
      const be = [0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xff, 0xf0, 0, 0, 0, 0, 0, 0];
      assert.deepStrictEqual(Array.from(decodeF64(unaligned(be), false)), [1.5, -Infinity]);
      // 1e300 does not fit a float32
      const big = new Uint8Array(new Float64Array([1e300]).buffer);
      assert.deepStrictEqual(Array.from(decodeF64(big)), [Infinity]);
    });
  });

  it('refuses a byte length that is not a whole number of values', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => decodeF16(new Uint8Array(3)), /^F16 data is 3 bytes, not a multiple of 2$/],
      [() => decodeBF16(new Uint8Array(1)), /^BF16 data is 1 bytes, not a multiple of 2$/],
      [() => decodeF32(new Uint8Array(6)), /^F32 data is 6 bytes, not a multiple of 4$/],
      [() => decodeF64(new Uint8Array(12)), /^F64 data is 12 bytes, not a multiple of 8$/],
    ];
    for (const [fn, re] of cases) assert.throws(fn, (e: unknown) => isFfnLensError(e) && re.test(e.message));
  });
});
