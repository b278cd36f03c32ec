/**
 * Products with a vocabulary matrix [V x d] (a head or an embedding) streamed a chunk of rows at a
 * time, and the top k of the scores: shared by the next-token prediction and the neuron card.
 * No `vscode` import.
 */

/** Rows of a vocabulary matrix read per chunk: about 16 MiB of float32. */
export const vocabChunkRows = (d: number): number => Math.max(1, Math.floor((4 * 1024 * 1024) / d));

/** `M · v` for each vector (length d) over the V rows `readRows` gives, sums in double. */
export async function vocabScores(readRows: (first: number, count: number) => Promise<Float32Array>, V: number, vectors: readonly Float32Array[]): Promise<Float64Array[]> {
  const d = vectors[0]?.length ?? 0;
  const scores = vectors.map(() => new Float64Array(V));
  const chunk = vocabChunkRows(d);
  for (let v0 = 0; v0 < V; v0 += chunk) {
    const n = Math.min(chunk, V - v0);
    const rows = await readRows(v0, n);
    vectors.forEach((v, s) => {
      const out = scores[s];
      for (let r = 0; r < n; r++) {
        const o = r * d;
        let acc = 0;
        for (let i = 0; i < d; i++) acc += rows[o + i] * v[i];
        out[v0 + r] = acc;
      }
    });
  }
  return scores;
}

/** The ids of the k largest of `sign · scores`, largest first, ties by the lower id: one pass. */
export function topIds(scores: ArrayLike<number>, k: number, sign: 1 | -1 = 1): number[] {
  const top: number[] = [];
  const want = Math.min(k, scores.length);
  for (let id = 0; id < scores.length; id++) {
    const v = sign * scores[id];
    if (top.length === want && v <= sign * scores[top[want - 1]]) continue;
    let at = top.length;
    while (at > 0 && sign * scores[top[at - 1]] < v) at--;
    top.splice(at, 0, id);
    if (top.length > want) top.pop();
  }
  return top;
}
