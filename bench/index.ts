/**
 * `npm run bench`: FFN Lens against numpy on issue 5's shapes, one layer of a generated ~1 GB
 * GPT-2-sized safetensors file (time, peak RSS, bytes read), and how long the calling thread's
 * event loop stalls while the compute worker runs a B-sized layer, and whole `ffn-lens run`
 * processes against a numpy script (`npm run bench -- process` runs that part alone), and whole models
 * against PyTorch scripts (`npm run bench -- model`), and corpus scans and neuron cards against a
 * PyTorch script (`npm run bench -- scan`), and two checkpoints compared (`ffn-lens compare`, on
 * tokens and weights only) against a PyTorch script (`npm run bench -- compare`; `-- compare --tiny`
 * on small widths, a smoke test). Prints markdown tables.
 * A benchmark, not a test: nothing here passes or fails.
 */
import * as esbuild from 'esbuild';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createGemmEngine } from '../src/kernels';
import { ComputeClient } from '../src/worker/client';
import type { RunRequest } from '../src/protocol/run';
import { benchFfn, type FfnTiming } from './ffnBench';
import { bTensors, gpt2Tensors, writeSafetensors } from './files';
import { runNumpy } from './numpy';
import { modelSection } from './modelBench';
import { heldModelSection } from './heldModelBench';
import { processSection } from './processBench';
import { scanSection } from './scanBench';
import { compareSection } from './compareBench';
import { CASES, flops, fmtMiB, fmtMs, median } from './shapes';

const THREADS = 2;
const root = path.join(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

const log = (s = ''): void => console.log(s);
const gflops = (f: number, ms: number): string => (f / (ms * 1e6)).toFixed(1);

/** Bundles the worker and the layer child exactly as esbuild.js bundles dist/worker.js. */
async function bundle(): Promise<{ worker: string; child: string; cli: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await (require('../scripts/buildWasm.js') as { buildWasm: () => Promise<boolean> }).buildWasm();
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node18', logLevel: 'error' } as const;
  const worker = path.join(work, 'worker.js');
  const child = path.join(work, 'layerChild.js');
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/worker/worker.ts')], outfile: worker });
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench/layerChild.ts')], outfile: child });
  const cli = path.join(work, 'cli.js');
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/cli.ts')], outfile: cli });
  return { worker, child, cli };
}

async function ffnSection(): Promise<void> {
  const engine = createGemmEngine({ threads: THREADS });
  await engine.ready();
  log(`## FFN forward, float32 (${engine.path}, ${engine.threads} threads; numpy in the same run)`);
  log(`relaxed SIMD ${engine.features.relaxedSimd ? (engine.features.relaxedSimdByFlag ? 'on via --experimental-wasm-relaxed-simd' : 'native') : 'unavailable'}`);
  const ours: FfnTiming[] = [];
  for (const c of CASES) ours.push(benchFfn(c, engine));
  await engine.dispose();
  const np = runNumpy(CASES);
  log();
  if ('skipped' in np) log(`numpy: skipped (${np.skipped})`);
  else {
    const unset = Object.entries(np.unset).map(([k, v]) => `${k}=${v}`).join(', ') || 'nothing to unset';
    log(`numpy ${np.version}, BLAS ${JSON.stringify(np.blas)}; unset for numpy only: ${unset}`);
  }
  log();
  log('| shape | T x d x f | FFN Lens forward, prepared weights (as the worker runs it): median (best) | GFLOP/s median (best) | before: B packed in every product, median | its GEMMs alone, median: prepared / packing B | trace in fresh arrays | weights copied in per run too | prepare the layer once (+ norms of w2 rows) | numpy median (best) | numpy GFLOP/s median (best) | ratio (median) |');
  log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [i, c] of CASES.entries()) {
    const t = ours[i];
    const f = flops(c);
    const rate = (ms: number[]): string => `${fmtMs(median(ms))} (${gflops(f, median(ms))} GFLOP/s)`;
    const [med, best] = [median(t.preparedMs), Math.min(...t.preparedMs)];
    const copy = t.copyInMs ? rate(t.copyInMs) : '-';
    const gemmOnly = `${gflops(f, median(t.gemmOnlyPreparedMs))} / ${gflops(f, median(t.gemmOnlyMs))} GFLOP/s`;
    let npCols = '- | - | -';
    if (!('skipped' in np)) {
      const times = np.times.get(c.name) ?? [];
      const [nm, nb] = [median(times), Math.min(...times)];
      npCols = `${fmtMs(nm)} (${fmtMs(nb)}) | ${gflops(f, nm)} (${gflops(f, nb)}) | ${(nm / med).toFixed(2)}x`;
    }
    log(
      `| ${c.name}${c.gated ? ' (swiglu)' : ' (relu)'} | ${c.T} x ${c.d} x ${c.f} | ${fmtMs(med)} (${fmtMs(best)}) | ${gflops(f, med)} (${gflops(f, best)}) | ${rate(t.residentMs)} | ${gemmOnly} | ${rate(t.freshTraceMs)} | ${copy} | ${fmtMs(t.prepareMs)} (+ ${fmtMs(t.normsMs)}) | ${npCols} |`,
    );
  }
  log();
  log(`load average after this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  log();
}

function layerSection(child: string): string {
  const file = path.join(work, 'gpt2-sized.safetensors');
  const t0 = performance.now();
  const size = writeSafetensors(file, gpt2Tensors());
  log(`## One layer of a generated GPT-2-sized safetensors file (${fmtMiB(size)}, written in ${(performance.now() - t0).toFixed(0)} ms; in the page cache)`);
  const r = spawnSync(process.execPath, [child, file, '128', String(THREADS)], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`failed: ${r.stderr}`);
    return file;
  }
  const m = JSON.parse(r.stdout) as { ms: number; loadMs: number; computeMs: number; baselineRss: number; peakRss: number; bytesRead: number; layerBytes: number; kernel: string };
  const budget = 2 * m.layerBytes + 100 * 1048576;
  log();
  log('| measure | value | target |');
  log('|---|---|---|');
  log(`| open + run layer h.0 via runLayer, T=128, fresh process (${m.kernel}) | ${fmtMs(m.ms)} (load ${fmtMs(m.loadMs)}, compute + analysis ${fmtMs(m.computeMs)}) | - |`);
  log(`| peak RSS of that process (Node alone at start: ${fmtMiB(m.baselineRss)}) | ${fmtMiB(m.peakRss)} = ${(m.peakRss / m.layerBytes).toFixed(1)}x the layer's float32 size (${fmtMiB(m.layerBytes)}) | < ${fmtMiB(budget)} (2x layer + 100 MiB) |`);
  log(`| bytes read vs file size | ${fmtMiB(m.bytesRead)} of ${fmtMiB(size)} (${((100 * m.bytesRead) / size).toFixed(1)}%) | only the layer |`);
  return file;
}

/** " (load x, compute + analysis y)" from a run's own timings. */
function split(r: unknown): string {
  const t = (r as { timings?: { loadMs: number; computeMs: number } }).timings;
  return t ? ` (load ${fmtMs(t.loadMs)}, compute + analysis ${fmtMs(t.computeMs)})` : '';
}

/** Max gap of a 10 ms interval on this thread while `job` runs. */
async function gaps<T>(job: () => Promise<T>): Promise<{ ms: number; maxGap: number; result: T }> {
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 10);
  const t0 = performance.now();
  const result = await job();
  const ms = performance.now() - t0;
  clearInterval(timer);
  maxGap = Math.max(maxGap, performance.now() - last);
  return { ms, maxGap, result };
}

async function clientSection(worker: string, gpt2: string): Promise<void> {
  log();
  log(`## Through ComputeClient (worker + ${THREADS} GEMM threads); a 10 ms setInterval on the calling thread records its longest gap`);
  log();
  log('| job | time | longest gap on the calling thread | target |');
  log('|---|---|---|---|');
  const gptReq: RunRequest = { file: gpt2, inputs: { kind: 'random', tokens: 8, seed: 1 } };
  const idle = await gaps(() => new Promise((resolve) => setTimeout(resolve, 2000)));
  log(`| nothing (2 s idle, for the machine's own scheduling noise) | - | ${fmtMs(idle.maxGap)} | - |`);
  const c1 = new ComputeClient(worker, { threads: THREADS });
  const cold = await gaps(() => c1.run(gptReq));
  log(`| GPT-2-sized file, layer h.0, T=8, cold (worker start + open + read + run) | ${fmtMs(cold.ms)}${split(cold.result)} | ${fmtMs(cold.maxGap)} | < 1.5 s to the result |`);
  c1.dispose();
  fs.rmSync(gpt2, { force: true });

  const bFile = path.join(work, 'b-layer.safetensors');
  writeSafetensors(bFile, bTensors());
  const bReq: RunRequest = { file: bFile, inputs: { kind: 'random', tokens: 32, seed: 1 }, activation: 'relu' };
  const c2 = new ComputeClient(worker, { threads: THREADS });
  const b1 = await gaps(() => c2.run(bReq));
  const b2 = await gaps(() => c2.run(bReq));
  log(`| B-sized layer (4096 x 11008, 360 MB file), T=32, cold | ${fmtMs(b1.ms)}${split(b1.result)} | ${fmtMs(b1.maxGap)} | gap < 50 ms |`);
  log(`| the same, warm worker | ${fmtMs(b2.ms)}${split(b2.result)} | ${fmtMs(b2.maxGap)} | gap < 50 ms |`);
  c2.dispose();
  fs.rmSync(bFile, { force: true });
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  log(`# FFN Lens benchmark: Node ${process.version}, ${cpu}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  log();
  const { worker, child, cli } = await bundle();
  // `npm run bench -- process` runs the whole-process comparison alone.
  const only = process.argv[2];
  if (only === 'process') {
    processSection(cli, work, log);
    return;
  }
  if (only === 'model') {
    await modelSection(cli, work, log);
    return;
  }
  if (only === 'held') {
    await heldModelSection(worker, work, log);
    return;
  }
  if (only === 'scan') {
    await scanSection(cli, work, log);
    return;
  }
  if (only === 'compare') {
    await compareSection(cli, work, log, { tiny: process.argv.includes('--tiny') });
    return;
  }
  await ffnSection();
  const gpt2 = layerSection(child);
  await clientSection(worker, gpt2);
  log();
  processSection(cli, work, log);
  await modelSection(cli, work, log);
  await heldModelSection(worker, work, log);
  await scanSection(cli, work, log);
  await compareSection(cli, work, log);
  log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes on this machine skew every figure)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
