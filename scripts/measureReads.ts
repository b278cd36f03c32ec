// Measures how much of a big checkpoint FFN Lens reads. Writes a GPT-2-shaped F32 safetensors file
// to os.tmpdir() in streamed 4 MB chunks (wte [50257, 768], then per layer h.N.mlp.c_fc [768, 3072]
// + bias and h.N.mlp.c_proj [3072, 768] + bias), counts the bytes `inspect --no-stats` and a run of
// one layer read through the readers' process-wide counter (readStats in src/formats/fileRange.ts),
// prints a markdown table and deletes the file. The README's ranged-reads table comes from this script.
// Run: `npx tsx scripts/measureReads.ts [--layers 12,46]` (46 layers make the ~1 GB file; 12 is GPT-2 small).
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readStats } from '../src/formats/fileRange';
import { PICKLE_PROBE_BYTES } from '../src/formats/pickle';
import { inspectFile, runLayer } from '../src/pipeline';

const D_MODEL = 768;
const D_FF = 3072;
const VOCAB = 50257;
const CHUNK_FLOATS = 1024 * 1024; // 4 MB of float32 per write

interface Tensor {
  name: string;
  shape: number[];
}

function tensorsFor(layers: number): Tensor[] {
  const list: Tensor[] = [{ name: 'wte.weight', shape: [VOCAB, D_MODEL] }];
  for (let i = 0; i < layers; i++) {
    list.push(
      { name: `h.${i}.mlp.c_fc.weight`, shape: [D_MODEL, D_FF] },
      { name: `h.${i}.mlp.c_fc.bias`, shape: [D_FF] },
      { name: `h.${i}.mlp.c_proj.weight`, shape: [D_FF, D_MODEL] },
      { name: `h.${i}.mlp.c_proj.bias`, shape: [D_MODEL] },
    );
  }
  return list;
}

const byteLength = (t: Tensor): number => 4 * t.shape.reduce((a, b) => a * b, 1);

/** Seeded N(0, 0.02²) values (GPT-2's init scale), one chunk reused at shifting offsets. */
function noise(n: number): Float32Array {
  let s = 12345;
  const uniform = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.02 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** Writes the file tensor by tensor, never holding more than one chunk; returns the header length. */
async function writeCheckpoint(file: string, tensors: Tensor[]): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + byteLength(t)] };
    offset += byteLength(t);
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const values = noise(CHUNK_FLOATS + 4096);
  const handle = await fs.open(file, 'w');
  try {
    await handle.write(prefix);
    await handle.write(json);
    for (const [k, t] of tensors.entries()) {
      const shift = (k * 997) % 4096;
      for (let left = byteLength(t) / 4; left > 0; left -= CHUNK_FLOATS) {
        const n = Math.min(left, CHUNK_FLOATS);
        await handle.write(new Uint8Array(values.buffer, shift * 4, n * 4));
      }
    }
  } finally {
    await handle.close();
  }
  return json.length;
}

async function measure(job: () => Promise<unknown>): Promise<{ bytes: number; ms: number }> {
  const before = readStats.bytes;
  const started = performance.now();
  await job();
  return { bytes: readStats.bytes - before, ms: performance.now() - started };
}

const thousands = (n: number): string => n.toLocaleString('en-US');
const size = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(0)} MB`);
const percent = (part: number, whole: number): string => {
  const p = (100 * part) / whole;
  return `${p < 0.01 ? p.toFixed(4) : p.toFixed(2)} %`;
};

async function main(): Promise<void> {
  const flag = process.argv.indexOf('--layers');
  const layerCounts = (flag > 0 ? process.argv[flag + 1] : '12,46').split(',').map(Number);
  if (layerCounts.some((n) => !Number.isInteger(n) || n < 2)) throw new Error('--layers takes whole numbers >= 2, e.g. 12,46');
  const rows: string[] = [];
  for (const layers of layerCounts) {
    const file = path.join(os.tmpdir(), `ffn-lens-measure-${process.pid}-${layers}.safetensors`);
    const tensors = tensorsFor(layers);
    try {
      process.stderr.write(`writing ${file} (${layers} layers)...\n`);
      const headerLength = await writeCheckpoint(file, tensors);
      const { size: fileSize } = await fs.stat(file);
      const layer = `h.${Math.floor(layers / 2)}.mlp`;
      const layerBytes = tensors.filter((t) => t.name.startsWith(`${layer}.`)).reduce((sum, t) => sum + byteLength(t), 0);
      const headerRead = `probe ${thousands(PICKLE_PROBE_BYTES)} + 8 + header ${thousands(headerLength)}`;

      const inspected = await measure(() => inspectFile(file, { stats: false }));
      const ran = await measure(() => runLayer({ file, layer, inputs: { kind: 'random', tokens: 8, seed: 0 } }));
      const label = `${size(fileSize)} (${layers} layers)`;
      rows.push(
        `| ${label} | \`inspect --no-stats\` | ${thousands(inspected.bytes)} | ${headerRead} | ${percent(inspected.bytes, fileSize)} | ${inspected.ms.toFixed(0)} ms |`,
        `| ${label} | \`run --layer ${layer}\` (8 tokens) | ${thousands(ran.bytes)} | the same + layer ${thousands(layerBytes)} | ${percent(ran.bytes, fileSize)} | ${ran.ms.toFixed(0)} ms |`,
      );
    } finally {
      await fs.rm(file, { force: true });
    }
  }
  console.log('| file | operation | bytes read | made of | % of file | time |');
  console.log('|---|---|---:|---|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`\nnode ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}; the file was just written, so its pages were in the OS cache.`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
