/**
 * Property-based fuzzing of the GGUF reader: random valid files (versions 2 and 3, any alignment,
 * metadata of every value type including nested and long arrays, plain, 32-block and K-quant
 * tensors) must read back what was written; mutated files (bytes, and every count, length, type,
 * dimension and offset field set to extreme values) must read or be refused cleanly.
 */
import * as assert from 'assert';
import fc from 'fast-check';
import { openGgufSource } from '../../src/formats/gguf';
import {
  FuzzDir, applyMutations, assertReadsAs, buildGgufCase, casesFor, fieldValueArb, fuzz, ggufCaseArb, mutationArb, patchField, probe,
  type FieldSite, type FieldValue, type GgufCase, type Mutation,
} from '../helpers/fuzz';

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Every integer field of the header, the key/values and the tensor infos of a generated file. */
export function ggufFieldSites(c: GgufCase): FieldSite[] {
  const { layout } = buildGgufCase(c);
  const sites: FieldSite[] = [{ at: 4, width: 4 }, { at: 8, width: 8 }, { at: 16, width: 8 }];
  const kvs = c.alignment === undefined ? c.kv.map((e) => e.kv) : [{ type: 'uint32' as const, value: c.alignment }, ...c.kv.map((e) => e.kv)];
  kvs.forEach((kv, i) => {
    const value = layout.kvValueStarts[i];
    sites.push({ at: layout.kvStarts[i], width: 8 }, { at: value - 4, width: 4 });
    if (kv.type === 'string' || kv.type === 'array') sites.push({ at: value, width: kv.type === 'string' ? 8 : 4 });
    if (kv.type === 'array') sites.push({ at: value + 4, width: 8 });
    if (kv.type === 'uint32') sites.push({ at: value, width: 4 });
  });
  c.tensors.forEach((t, i) => {
    let at = layout.tensorInfoStarts[i];
    sites.push({ at, width: 8 });
    at += 8 + utf8Length(t.name);
    sites.push({ at, width: 4 });
    at += 4;
    for (let d = 0; d < t.ne.length; d++, at += 8) sites.push({ at, width: 8 });
    sites.push({ at, width: 4 }, { at: at + 4, width: 8 });
  });
  return sites;
}

type Corruption = { kind: 'bytes'; muts: Mutation[] } | { kind: 'fields'; edits: { site: number; value: FieldValue }[] };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('fields' as const), edits: fc.array(fc.record({ site: fc.nat(), value: fieldValueArb }), { minLength: 1, maxLength: 3 }) }),
);

function corrupt(c: GgufCase, k: Corruption): Uint8Array {
  const { bytes, hot } = buildGgufCase(c);
  if (k.kind === 'bytes') return applyMutations(bytes, k.muts, hot);
  const sites = ggufFieldSites(c);
  return k.edits.reduce((b, e) => patchField(b, sites[e.site % sites.length], e.value), bytes);
}

describe('fuzz: GGUF reader', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-gguf');
  after(() => dir.remove());

  it(`reads random valid files back as written (${casesFor(0.35)} cases)`, async () => {
    await fuzz(ggufCaseArb, casesFor(0.35), async (c) => {
      const built = buildGgufCase(c);
      const o = await probe(openGgufSource, dir.write('valid.gguf', built.bytes));
      assertReadsAs(o, built.tensors);
      assert.ok(o.opened);
      assert.deepStrictEqual({ ...o.source.metadata }, built.metadata);
    });
  });

  it(`reads or cleanly refuses mutated files (${casesFor(0.65)} cases)`, async () => {
    await fuzz(fc.tuple(ggufCaseArb, corruptionArb), casesFor(0.65), async ([c, k]) => {
      await probe(openGgufSource, dir.write('mutated.gguf', corrupt(c, k)));
    });
  });
});
