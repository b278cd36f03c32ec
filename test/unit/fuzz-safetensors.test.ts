/**
 * Property-based fuzzing of the safetensors reader: random valid files must read back exactly what
 * was written; mutated files (bytes, the length field, header fields set to extreme values, random
 * JSON headers, hostile entries) and random shard indexes must read or be refused cleanly.
 */
import * as assert from 'assert';
import fc from 'fast-check';
import { openSafetensorsSource } from '../../src/formats/safetensors';
import { safetensorsBytes, safetensorsRaw, type StTensor } from '../helpers/binaryWriters';
import {
  EXTREME_JSON, FuzzDir, ST_DTYPES, applyMutations, assertReadsAs, assertSameFloats, buildSt, casesFor, fieldValueArb, fuzz, mutationArb,
  patchField, pick, probe, stCaseArb, stHeader, type FieldValue, type Mutation, type StCase,
} from '../helpers/fuzz';

const MARK = '@@fuzz-value@@';
/** JSON text of `value` with the string MARK replaced by raw JSON text (numbers JS cannot hold exactly). */
function stringifyWith(value: unknown, raw: string): string {
  return JSON.stringify(value).split(JSON.stringify(MARK)).join(raw);
}

const intLike = fc.oneof(fc.integer({ min: -2, max: 64 }), fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 1e300, 0.5, -0));
const hostileEntryArb = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom(...Object.keys(ST_DTYPES)), fc.string({ maxLength: 5 })),
    shape: fc.oneof(fc.array(intLike, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    data_offsets: fc.oneof(fc.array(intLike, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

type Corruption =
  | { kind: 'bytes'; muts: Mutation[] }
  | { kind: 'length'; value: FieldValue }
  | { kind: 'field'; entry: number; field: string; text: string; lengthOk: boolean }
  | { kind: 'json'; text: string }
  | { kind: 'entries'; header: Record<string, unknown>; buffer: Uint8Array };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('length' as const), value: fieldValueArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('field' as const), entry: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'entry', '__metadata__'),
      text: fc.constantFrom(...EXTREME_JSON), lengthOk: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), text: fc.json({ maxDepth: 3 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('entries' as const),
      header: fc.dictionary(fc.string({ maxLength: 4 }), hostileEntryArb, { maxKeys: 3 }),
      buffer: fc.uint8Array({ maxLength: 96 }),
    }),
  },
);

function corrupt(f: StCase, c: Corruption): Uint8Array {
  const { bytes: valid, hot } = buildSt(f);
  switch (c.kind) {
    case 'bytes':
      return applyMutations(valid, c.muts, hot);
    case 'length':
      return patchField(valid, { at: 0, width: 8 }, c.value);
    case 'field': {
      const { header: raw, buffer } = stHeader(f);
      const header = raw as Record<string, Record<string, unknown>>;
      const names = Object.keys(header);
      let text: string;
      if (c.field === '__metadata__' || names.length === 0) {
        text = stringifyWith({ ...header, __metadata__: MARK }, c.text);
      } else {
        const name = pick(names, c.entry);
        header[name] = c.field === 'entry' ? (MARK as unknown as Record<string, unknown>) : { ...header[name], [c.field]: MARK };
        text = stringifyWith(header, c.text);
      }
      return safetensorsRaw(text, buffer, c.lengthOk ? undefined : Buffer.byteLength(text) + 1);
    }
    case 'json':
      return safetensorsRaw(c.text, stHeader(f).buffer);
    case 'entries':
      return safetensorsRaw(c.header, c.buffer);
  }
}

describe('fuzz: safetensors reader', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-st');
  after(() => dir.remove());

  it(`reads random valid files back exactly (${casesFor(0.3)} cases)`, async () => {
    await fuzz(stCaseArb, casesFor(0.3), async (c) => {
      const built = buildSt(c);
      const o = await probe(openSafetensorsSource, dir.write('valid.safetensors', built.bytes));
      assertReadsAs(o, built.tensors);
      assert.ok(o.opened);
      assert.deepStrictEqual({ ...o.source.metadata }, { ...(c.metadata ?? {}) });
      for (const t of o.tensors) if (t.error) assert.match(t.error.message, /cannot decode/);
    });
  });

  it(`reads or cleanly refuses mutated files (${casesFor(0.55)} cases)`, async () => {
    await fuzz(fc.tuple(stCaseArb, corruptionArb), casesFor(0.55), async ([f, c]) => {
      await probe(openSafetensorsSource, dir.write('mutated.safetensors', corrupt(f, c)));
    });
  });

  const shardName = fc.oneof(
    fc.constantFrom('model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'),
    fc.constantFrom('missing.safetensors', '../up.safetensors', '/abs.safetensors', 'model.bin', '', 'sub/x.safetensors', 'model.safetensors.index.json', '.'),
    fc.string({ maxLength: 8 }),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const indexArb = fc.oneof(
    { weight: 3, arbitrary: fc.record({ metadata: fc.jsonValue({ maxDepth: 2 }), weight_map: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'x'), shardName, { maxKeys: 5 }) }, { requiredKeys: ['weight_map'] }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );

  it(`opens or cleanly refuses random shard indexes (${casesFor(0.15)} cases)`, async () => {
    const f32 = (name: string): StTensor => ({ name, dtype: 'F32', shape: [2], values: [1, 2] });
    dir.write('model-00001-of-00002.safetensors', safetensorsBytes([f32('a'), f32('b')]));
    dir.write('model-00002-of-00002.safetensors', safetensorsBytes([f32('c')]));
    await fuzz(indexArb, casesFor(0.15), async (text) => {
      const o = await probe(openSafetensorsSource, dir.write('model.safetensors.index.json', text), { errorFiles: dir.holds });
      if (o.opened) for (const t of o.tensors) assertSameFloats(t.data, [1, 2], `tensor "${t.name}"`);
    });
  });
});
