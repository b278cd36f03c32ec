/**
 * A histogram over a stream whose range is not known in advance: the first values fix a range,
 * and a value outside it doubles the bin width (merging neighbouring bins, which keeps every count
 * exact) until it fits. Fixed memory, whatever the corpus size. No `vscode` import.
 */

/** Values buffered before the range is fixed. */
const WARMUP = 256;

export class StreamingHistogram {
  private counts: Float64Array;
  private lo = 0;
  private width = 0;
  private pending: number[] = [];
  private total = 0;

  constructor(readonly bins: number) {
    this.counts = new Float64Array(bins);
  }

  /** Adds a value (NaN and ±Infinity are left out). */
  add(v: number): void {
    if (!Number.isFinite(v)) return;
    this.total++;
    if (this.width === 0) {
      this.pending.push(v);
      if (this.pending.length >= WARMUP) this.fix();
      return;
    }
    this.place(v);
  }

  private fix(): void {
    const values = this.pending;
    this.pending = [];
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const span = max > min ? max - min : Math.max(Math.abs(min), 1e-6);
    // headroom of 5% either side: a later value a rounding error past the first ones' extremes
    // (a GELU's floor is hit again and again) must not double the bins and waste half of them
    this.lo = min - 0.05 * span;
    this.width = (span * 1.1) / this.bins;
    for (const v of values) this.place(v);
  }

  private place(v: number): void {
    const n = this.bins;
    while (v >= this.lo + n * this.width) this.grow(false);
    while (v < this.lo) this.grow(true);
    const k = Math.min(n - 1, Math.floor((v - this.lo) / this.width));
    this.counts[k]++;
  }

  /** Doubles the bin width, extending the range upwards, or downwards with `down`. */
  private grow(down: boolean): void {
    const n = this.bins;
    const merged = new Float64Array(n);
    // half of the new bins hold the old range when growing downwards
    const shift = down ? Math.ceil(n / 2) : 0;
    for (let k = 0; k < n; k++) merged[Math.min(n - 1, shift + Math.floor(k / 2))] += this.counts[k];
    if (down) this.lo -= shift * 2 * this.width;
    this.width *= 2;
    this.counts = merged;
  }

  /** The bin edges (bins + 1) and counts. */
  toJson(): { edges: number[]; counts: number[] } {
    if (this.width === 0 && this.pending.length) this.fix();
    if (this.width === 0) return { edges: [], counts: [] };
    return { edges: Array.from({ length: this.bins + 1 }, (_, k) => this.lo + k * this.width), counts: Array.from(this.counts) };
  }

  /** The value below which a share `q` of the values lie (linear within a bin). */
  quantile(q: number): number {
    if (this.width === 0 && this.pending.length) this.fix();
    if (this.total === 0) return 0;
    const want = q * this.total;
    let seen = 0;
    for (let k = 0; k < this.bins; k++) {
      const c = this.counts[k];
      if (seen + c >= want && c > 0) return this.lo + (k + (want - seen) / c) * this.width;
      seen += c;
    }
    return this.lo + this.bins * this.width;
  }
}
