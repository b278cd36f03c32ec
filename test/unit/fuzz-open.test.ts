/**
 * Property-based fuzzing of openSource's format sniffing: valid files of every format under their
 * own, a neutral or a misleading extension, random bytes behind every magic number the sniffer
 * knows, and mutated valid files. Every case opens or is refused cleanly; a valid file under its
 * own or a neutral extension is recognised and reads back exactly.
 */
import * as assert from 'assert';
import * as path from 'path';
import fc from 'fast-check';
import { openSource } from '../../src/formats/open';
import type { WeightFormat } from '../../src/formats/source';
import {
  FuzzDir, applyMutations, assertReadsAs, buildGgufCase, buildJson, buildNpy, buildNpz, buildSt, casesFor, fuzz, ggufCaseArb, jsonCaseArb,
  mutationArb, npyCaseArb, npzCaseArb, probe, stCaseArb, type Built,
} from '../helpers/fuzz';

/** A valid file of some format; npy's tensor name is the file stem, so it is built once the name is known. */
type Valid = { format: WeightFormat; build: (stem: string) => Built };

const validArb: fc.Arbitrary<Valid> = fc.oneof(
  stCaseArb.map((c): Valid => ({ format: 'safetensors', build: () => buildSt(c) })),
  npyCaseArb.map((c): Valid => ({ format: 'npy', build: (stem) => buildNpy(c, stem) })),
  npzCaseArb.map((c): Valid => ({ format: 'npz', build: () => buildNpz(c) })),
  ggufCaseArb.map((c): Valid => ({ format: 'gguf', build: () => buildGgufCase(c) })),
  jsonCaseArb.map((c): Valid => ({ format: 'json', build: () => buildJson(c) })),
);

const NATURAL: Record<WeightFormat, string> = { safetensors: '.safetensors', npy: '.npy', npz: '.npz', gguf: '.gguf', json: '.json' };
const NEUTRAL = ['', '.dat', '.weights'];
const OTHER = ['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle', '.txt', '.safetensors.index.json', '.bin.index.json', '.npy', '.npz', '.gguf', '.json', '.safetensors'];

/** Bytes every sniffing rule looks for, each followed by random bytes. */
const MAGICS = ['GGUF', '\x93NUMPY', '\x93NUMPY\x01\x00', 'PK\x03\x04', 'PK\x05\x06', '\x80\x02', '\x80\x05', '{', '[', ' \n{', '\xef\xbb\xbf{', 'version https://git-lfs', '\x10\x00\x00\x00\x00\x00\x00\x00{', ''];

const caseArb = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), valid: validArb, ext: fc.oneof(fc.constant('natural'), fc.constantFrom(...NEUTRAL), fc.constantFrom(...OTHER)) }),
  fc.record({ kind: fc.constant('magic' as const), magic: fc.constantFrom(...MAGICS), rest: fc.uint8Array({ maxLength: 64 }), ext: fc.constantFrom(...NEUTRAL, ...OTHER) }),
  fc.record({ kind: fc.constant('mutated' as const), valid: validArb, muts: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ext: fc.constantFrom('natural', ...NEUTRAL) }),
);


describe('fuzz: openSource format sniffing', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('fuzz-open');
  after(() => dir.remove());

  it(`opens or cleanly refuses any file under any extension (${casesFor(1)} cases)`, async () => {
    await fuzz(caseArb, casesFor(1), async (c) => {
      const ext = c.kind === 'magic' ? c.ext : c.ext === 'natural' ? NATURAL[c.valid.format] : c.ext;
      const name = `case${ext}`;
      const stem = path.basename(name).replace(/\.npy$/i, '');
      if (c.kind === 'magic') {
        await probe(openSource, dir.write(name, Buffer.concat([Buffer.from(c.magic, 'latin1'), c.rest])), { errorFiles: dir.holds });
        return;
      }
      const built = c.valid.build(stem);
      if (c.kind === 'mutated') {
        await probe(openSource, dir.write(name, applyMutations(built.bytes, c.muts, built.hot)), { errorFiles: dir.holds });
        return;
      }
      const o = await probe(openSource, dir.write(name, built.bytes), { errorFiles: dir.holds });
      if (c.ext === 'natural' || NEUTRAL.includes(c.ext)) {
        assertReadsAs(o, built.tensors, `${c.valid.format} file named ${name}`);
        assert.ok(o.opened);
        assert.strictEqual(o.source.format, c.valid.format);
      }
    });
  });
});
