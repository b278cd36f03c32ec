/**
 * llama.cpp's SentencePiece tokenizer (llm_tokenizer_spm) written as BPE merges, so that
 * @huggingface/tokenizers' BPE model runs it.
 *
 * llama.cpp splits the text into characters, then keeps merging the adjacent pair whose
 * concatenation is a vocabulary token with the highest score (the leftmost pair among equal
 * scores); characters left outside the vocabulary become `<0xNN>` byte tokens. That is BPE whose
 * merge list holds, for every vocabulary token, each way to cut it into two pieces that can
 * occur as symbols (a vocabulary token or a single character), ranked by the whole token's
 * score. transformers' GGUFLlamaConverter builds the same list (integrations/ggml.py); it only
 * keeps cuts whose pieces are both in the vocabulary and orders equal scores by id, while here a
 * single character outside the vocabulary counts too and equal scores share one rank, so the
 * library's leftmost-first tie-break decides, exactly as llama.cpp's comparator does.
 *
 * A Unigram model with the same scores would be a different algorithm: it picks the segmentation
 * with the largest total score (Viterbi), not the greedy best-pair merge, and the library's
 * Unigram has no byte fallback. No `vscode` import.
 */

/** The merges of a SentencePiece vocabulary, best first, and each one's rank (equal scores, equal rank). */
export interface ScoreMerges {
  merges: [string, string][];
  ranks: number[];
}

/** Whether `s` is exactly one code point. */
function isOneCodePoint(s: string): boolean {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1);
}

/** llama.cpp's merge order for `tokens` with `scores` (one score per token). */
export function mergesFromScores(tokens: readonly string[], scores: readonly number[]): ScoreMerges {
  const vocab = new Set(tokens);
  const symbol = (s: string): boolean => vocab.has(s) || isOneCodePoint(s);
  const found: { left: string; right: string; score: number }[] = [];
  tokens.forEach((token, id) => {
    let cut = 0;
    // Every code point boundary inside the token (never between the halves of a surrogate pair).
    for (const ch of token) {
      cut += ch.length;
      if (cut >= token.length) break;
      const left = token.slice(0, cut);
      const right = token.slice(cut);
      if (symbol(left) && symbol(right)) found.push({ left, right, score: scores[id] });
    }
  });
  // Stable: equal scores keep token-id order, which only matters for the listing, not the ranks.
  found.sort((a, b) => b.score - a.score);
  const ranks: number[] = [];
  let rank = -1;
  found.forEach((m, i) => {
    if (i === 0 || m.score !== found[i - 1].score) rank++;
    ranks.push(rank);
  });
  return { merges: found.map((m) => [m.left, m.right]), ranks };
}
