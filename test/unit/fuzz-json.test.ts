/**
 * Property-based fuzzing of the JSON weight reader: random valid files (nested arrays, flat and
 * nested {"shape", "data"} objects, dotted and nested names, NaN/Infinity as strings or bare
 * Python-style tokens, -0) must read back exactly; mutated files (bytes, tensor values replaced by
 * ragged, mistyped or extreme ones, reserved keys with wrong types, random JSON documents) must
 * read or be refused cleanly.
 */
import fc from 'fast-check';
import { openJsonSource } from '../../src/formats/json';
import {
  EXTREME_JSON, FuzzDir, applyMutations, assertReadsAs, buildJson, casesFor, fuzz, jsonCaseArb, mutationArb, pick, probe,
  type JsonTensorCase, type Mutation,
} from '../helpers/fuzz';

/** Tensor values a hostile or broken export writes. */
const HOSTILE_TENSORS = [
  '[[1, 2], [3]]', '[[1], [[2]]]', '[[[1]], [2]]', '[1, "x"]', '[1, null]', '[1, true]', '[1, {}]', '[[]]', '[[], [1]]', '["NaN", "nan", "-inf", "Infinity"]',
  '{"shape": [9007199254740992], "data": []}', '{"shape": [1099511627776], "data": [1]}', '{"shape": [2, 1099511627776], "data": [1, 2]}',
  '{"shape": [-1], "data": [1]}', '{"shape": [1e400], "data": [1]}', '{"shape": [0.5], "data": [1]}', '{"shape": "2", "data": [1, 2]}',
  '{"shape": [0], "data": []}', '{"shape": [], "data": [5]}', '{"shape": [3], "data": [[1, 2, 3]]}', '{"data": "x"}', '{"data": [1], "dtype": 5}',
  '{"data": [1], "shape": [1], "extra": 1}', '[1e400, -1e400]', '[18446744073709551615]', '[-0]', '[1.0000000000000002]',
];

const RESERVED_VALUES: [string, fc.Arbitrary<string>][] = [
  ['activation', fc.constantFrom('5', 'null', '[]', '{}', '"relu"', '""', '"no-such-activation"')],
  ['layout', fc.constantFrom('5', '"torch"', '"math"', '[]', '"sideways"')],
  ['tokens', fc.constantFrom('[{}]', '"x"', '[1, 2]', '[]', '[null]', '[["a"]]', '{"a": 1}')],
  ['inputs', fc.constantFrom('[[1], [1, 2]]', '[[[1]]]', '"x"', '{"shape": [2, 2], "data": [1, 2, 3, 4]}', '[]', '[[]]', '[1, 2]', '{"shape": [1e20, 1], "data": [1]}')],
  ['config', fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))],
  ['metadata', fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))],
  ['model_type', fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v))],
];

type Corruption =
  | { kind: 'bytes'; muts: Mutation[] }
  | { kind: 'tensor'; which: number; text: string }
  | { kind: 'reserved'; key: string; text: string }
  | { kind: 'document'; text: string };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tensor' as const), which: fc.nat(), text: fc.oneof(fc.constantFrom(...HOSTILE_TENSORS), fc.constantFrom(...EXTREME_JSON)) }) },
  { weight: 2, arbitrary: fc.oneof(...RESERVED_VALUES.map(([key, arb]) => fc.record({ kind: fc.constant('reserved' as const), key: fc.constant(key), text: arb }))) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('document' as const),
      text: fc.oneof(fc.json({ maxDepth: 4 }), fc.object({ maxDepth: 3, values: [fc.float(), fc.array(fc.float(), { maxLength: 4 }), fc.string()] }).map((o) => JSON.stringify(o))),
    }),
  },
);

function corrupt(tensors: JsonTensorCase[], c: Corruption): Uint8Array {
  switch (c.kind) {
    case 'bytes': {
      const built = buildJson(tensors);
      return applyMutations(built.bytes, c.muts);
    }
    case 'tensor': {
      const { text, ranges } = buildJson(tensors);
      const [start, end] = pick([...ranges.values()], c.which);
      return Buffer.from(text.slice(0, start) + c.text + text.slice(end));
    }
    case 'reserved':
      return buildJson(tensors, `,${JSON.stringify(c.key)}:${c.text}`).bytes;
    case 'document':
      return Buffer.from(c.text);
  }
}

describe('fuzz: JSON weight reader', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-json');
  after(() => dir.remove());

  it(`reads random valid files back exactly (${casesFor(0.35)} cases)`, async () => {
    await fuzz(jsonCaseArb, casesFor(0.35), async (tensors) => {
      const built = buildJson(tensors);
      assertReadsAs(await probe(openJsonSource, dir.write('valid.json', built.bytes)), built.tensors);
    });
  });

  it(`reads or cleanly refuses mutated files (${casesFor(0.65)} cases)`, async () => {
    await fuzz(fc.tuple(jsonCaseArb, corruptionArb), casesFor(0.65), async ([tensors, c]) => {
      await probe(openJsonSource, dir.write('mutated.json', corrupt(tensors, c)));
    });
  });
});
