// Writes samples/tiny-gpt2/: a tiny GPT-2 (3 blocks, d_model 16, seeded random weights) with a
// byte-level BPE tokenizer.json, so `npm start` and the browser tests can open a whole model at
// once. A fixture, not a model that learned anything (issue 13 ships trained ones).
//   npx tsx scripts/makeModelSample.ts
import * as fs from 'fs';
import * as path from 'path';
import { byteBpeTokenizer } from '../test/helpers/byteBpe';
import { makeTinyModel, writeHfFolder } from '../test/helpers/tinyModels';

const OUT = path.resolve(__dirname, '..', 'samples', 'tiny-gpt2');
// A few English merges on top of the test's hand-worked ones, so common words are single tokens.
const MERGES: [string, string][] = [
  ['h', 'e'], ['l', 'l'], ['he', 'll'], ['Ġ', 'w'],
  ['t', 'h'], ['Ġ', 'th'], ['Ġth', 'e'], ['Ġ', 'a'], ['a', 'n'], ['Ġa', 'n'], ['Ġan', 'd'],
  ['i', 'n'], ['Ġ', 's'], ['e', 'r'], ['o', 'n'], ['Ġ', 'o'], ['Ġo', 'f'],
];

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
const { json, vocabSize } = byteBpeTokenizer(MERGES);
writeHfFolder(OUT, makeTinyModel('gpt2', { seed: 2026, layers: 3, hidden: 16, heads: 4, vocab: vocabSize, maxPositions: 128 }), {
  tokenizerJson: json,
  tokenizerConfig: { add_bos_token: false, model_max_length: 128 },
});
fs.writeFileSync(path.join(OUT, 'sample.txt'), 'The whale and the sea, and the ship of the hunters.\n');
console.log(`wrote ${OUT}: ${fs.readdirSync(OUT).join(', ')}`);
