/** The benchmark's FFN shapes (issue 5) and small shared helpers. */

export interface FfnCase {
  name: string;
  /** tokens */
  T: number;
  d: number;
  f: number;
  gated: boolean;
  /** timed repetitions */
  reps: number;
}

export const CASES: FfnCase[] = [
  { name: 'A', T: 128, d: 768, f: 3072, gated: false, reps: 30 },
  { name: 'B', T: 32, d: 4096, f: 11008, gated: false, reps: 12 },
  { name: 'C', T: 8, d: 64, f: 256, gated: false, reps: 4000 },
  { name: 'SwiGLU-B', T: 32, d: 4096, f: 11008, gated: true, reps: 10 },
];

/** FLOPs of one forward pass: 2·T·d·f per matrix, two matrices plain, three gated. */
export function flops(c: FfnCase): number {
  return 2 * c.T * c.d * c.f * (c.gated ? 3 : 2);
}

/** Fills `out` with deterministic values in [-scale, scale) (a fast LCG; 180 MB in well under a second). */
export function fill(out: Float32Array, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const fmtMs = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);
export const fmtMiB = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
