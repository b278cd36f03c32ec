/**
 * Property-based fuzzing of the .npy reader: random valid files (versions 1-3, every supported
 * dtype and byte order, C and Fortran order) must read back exactly; mutated files (bytes, the
 * version and header-length fields, hostile header dicts, random Python literals) must read or be
 * refused cleanly.
 */
import * as assert from 'assert';
import fc from 'fast-check';
import { openNpySource } from '../../src/formats/npy';
import {
  FuzzDir, applyMutations, assertReadsAs, buildNpy, casesFor, fieldValueArb, fuzz, mutationArb, npyCaseArb, npyDict, patchField, probe,
  type FieldValue, type Mutation, type NpyCase,
} from '../helpers/fuzz';

/** Python literal texts: numbers (huge, negative, long), strings, tuples, lists, dicts, nesting. */
const pyLiteral = fc.letrec<{ value: string; tuple: string; dict: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer().map(String),
    fc.constantFrom('True', 'False', 'None', "'<f4'", "'|O'", "'<U8'", "'>c16'", '18446744073709551615', '9007199254740993', '-0', '3L', '1e3', '2**31', "b'x'", '...'),
    fc.string({ maxLength: 6 }).map((s) => `'${s.replace(/[\\']/g, '')}'`),
    tie('tuple'),
    tie('dict'),
  ),
  tuple: fc.array(tie('value'), { maxLength: 3 }).map((a) => (a.length === 1 ? `(${a[0]},)` : `(${a.join(', ')})`)),
  dict: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
})).value;

const hostileValue = fc.oneof(
  fc.constantFrom(
    '(18446744073709551615,)', '(-1,)', '(1099511627776,)', '(4294967296, 4294967296)', '(9007199254740993, 0)', '(0, 9007199254740993)',
    '(2147483648, 2147483648, 2147483648)', '(-0,)', '(2, -0)', '[3]', '(1.5,)', '()', '(,)', "('3',)", "[('a', '<f4'), ('b', '<i8')]", "'|O'", "'<V8'", "'|V'",
    "'<f16'", "'f'", "''", 'None', '1', '((((((((((((((((((((1,),),),),),),),),),),),),),),),),),),),)',
  ),
  pyLiteral,
);

type Corruption =
  | { kind: 'bytes'; muts: Mutation[] }
  | { kind: 'field'; site: 'version' | 'length'; value: FieldValue }
  | { kind: 'value'; key: number; text: string }
  | { kind: 'dict'; text: string }
  | { kind: 'data'; delta: number };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('field' as const), site: fc.constantFrom('version' as const, 'length' as const), value: fieldValueArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('value' as const), key: fc.nat(), text: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dict' as const), text: fc.oneof(pyLiteral, fc.string({ maxLength: 30 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('data' as const), delta: fc.integer({ min: -9, max: 9 }).filter((d) => d !== 0) }) },
);

function corrupt(c: NpyCase, k: Corruption): Uint8Array {
  const { bytes: valid, hot } = buildNpy(c, 'mutated');
  switch (k.kind) {
    case 'bytes':
      return applyMutations(valid, k.muts, hot);
    case 'field':
      return k.site === 'version' ? patchField(valid, { at: 6, width: 1 }, k.value) : patchField(valid, { at: 8, width: c.version === 1 ? 2 : 4 }, k.value);
    case 'value':
      return buildNpy(c, 'mutated', npyDict(c, { key: k.key, text: k.text })).bytes;
    case 'dict':
      return buildNpy(c, 'mutated', k.text).bytes;
    case 'data':
      return k.delta > 0 ? Buffer.concat([valid, new Uint8Array(k.delta)]) : valid.subarray(0, Math.max(0, valid.length + k.delta));
  }
}

describe('fuzz: .npy reader', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-npy');
  after(() => dir.remove());

  it(`reads random valid files back exactly (${casesFor(0.4)} cases)`, async () => {
    await fuzz(npyCaseArb, casesFor(0.4), async (c) => {
      const built = buildNpy(c, 'valid');
      assertReadsAs(await probe(openNpySource, dir.write('valid.npy', built.bytes)), built.tensors);
    });
  });

  it(`reads or cleanly refuses mutated files (${casesFor(0.6)} cases)`, async () => {
    await fuzz(fc.tuple(npyCaseArb, corruptionArb), casesFor(0.6), async ([c, k]) => {
      await probe(openNpySource, dir.write('mutated.npy', corrupt(c, k)));
    });
  });
});
