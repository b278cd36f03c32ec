/**
 * Property-based fuzzing of the .npz reader: random valid archives (stored and deflated members,
 * nested member names, zip64 records, a non-.npy member) must read back exactly; mutated archives
 * (bytes anywhere, every integer field of the local headers, central directory, zip64 extra field
 * and end records set to extreme values) must read or be refused cleanly.
 */
import fc from 'fast-check';
import { openNpzSource } from '../../src/formats/npz';
import {
  FuzzDir, applyMutations, assertReadsAs, buildNpz, casesFor, fieldValueArb, fuzz, mutationArb, npzCaseArb, patchField, probe,
  type FieldSite, type FieldValue, type Mutation,
} from '../helpers/fuzz';

/** Integer fields of each zip record, relative to its signature: [offset, width]. */
const RECORD_FIELDS: Record<number, [number, FieldSite['width']][]> = {
  0x04034b50: [[4, 2], [6, 2], [8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]], // local file header
  0x02014b50: [[8, 2], [10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [42, 4]], // central directory entry
  0x06054b50: [[4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]], // end of central directory
  0x06064b50: [[4, 8], [24, 8], [32, 8], [40, 8], [48, 8]], // zip64 end record
  0x07064b50: [[4, 4], [8, 8], [16, 4]], // zip64 locator
};

/** Every integer field of every zip record in `bytes` (found by signature), plus central entries' zip64 extra fields. */
export function zipFieldSites(bytes: Uint8Array): FieldSite[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sites: FieldSite[] = [];
  for (let p = 0; p + 4 <= view.length; p++) {
    if (view[p] !== 0x50 || view[p + 1] !== 0x4b) continue;
    const sig = view.readUInt32LE(p);
    const fields = RECORD_FIELDS[sig];
    if (!fields) continue;
    for (const [at, width] of fields) if (p + at + width <= view.length) sites.push({ at: p + at, width });
    if (sig === 0x02014b50 && p + 46 <= view.length) {
      const extra = p + 46 + view.readUInt16LE(p + 28);
      const extraLen = view.readUInt16LE(p + 30);
      if (extraLen >= 4 && extra + extraLen <= view.length) {
        sites.push({ at: extra, width: 2 }, { at: extra + 2, width: 2 });
        for (let q = extra + 4; q + 8 <= extra + extraLen; q += 8) sites.push({ at: q, width: 8 });
      }
    }
  }
  return sites;
}

type Corruption = { kind: 'bytes'; muts: Mutation[] } | { kind: 'fields'; edits: { site: number; value: FieldValue }[] };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('fields' as const), edits: fc.array(fc.record({ site: fc.nat(), value: fieldValueArb }), { minLength: 1, maxLength: 3 }) }),
);

function corrupt(bytes: Uint8Array, c: Corruption): Uint8Array {
  if (c.kind === 'bytes') return applyMutations(bytes, c.muts);
  const sites = zipFieldSites(bytes);
  return c.edits.reduce((b, e) => patchField(b, sites[e.site % sites.length], e.value), bytes);
}

describe('fuzz: .npz reader', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-npz');
  after(() => dir.remove());

  it(`reads random valid archives back exactly (${casesFor(0.35)} cases)`, async () => {
    await fuzz(npzCaseArb, casesFor(0.35), async (c) => {
      const built = buildNpz(c);
      assertReadsAs(await probe(openNpzSource, dir.write('valid.npz', built.bytes)), built.tensors);
    });
  });

  it(`reads or cleanly refuses mutated archives (${casesFor(0.65)} cases)`, async () => {
    await fuzz(fc.tuple(npzCaseArb, corruptionArb), casesFor(0.65), async ([c, k]) => {
      await probe(openNpzSource, dir.write('mutated.npz', corrupt(buildNpz(c).bytes, k)));
    });
  });
});
