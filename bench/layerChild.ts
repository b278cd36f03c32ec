/**
 * Runs in a fresh Node process (bundled by the bench): one layer of a file through runLayer with
 * the threaded WebAssembly GEMM, the kernel's allocator and the weights prepared for the kernel
 * (as the worker runs it), reporting time, peak RSS and the bytes the reader read.
 * `node layerChild.js <file> <tokens> <threads>` prints one JSON line.
 */
import { createGemmEngine } from '../src/kernels';
import { openSafetensorsSource } from '../src/formats/safetensors';
import { findLayers, loadLayer } from '../src/layers';
import { runLayer } from '../src/pipeline';
import { prepareWeights } from '../src/pipeline/heldWeights';

async function main(): Promise<void> {
  const [file, tokens, threads] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const baselineRss = process.memoryUsage().rss;
  const engine = createGemmEngine({ threads });
  await engine.ready();
  const t0 = performance.now();
  // As the worker runs it: weights and trace in kernel memory, released after the result.
  const held: Float32Array[] = [];
  const alloc = (n: number): Float32Array => {
    const a = engine.alloc(n);
    held.push(a);
    return a;
  };
  const r = await runLayer(
    { file, inputs: { kind: 'random', tokens, seed: 1 }, activation: 'relu' },
    {
      gemm: engine.gemm,
      gemmPrepared: engine.gemmPrepared,
      alloc,
      // As the worker does: the layer's matrices prepared (in place) right after reading.
      weights: async (_key, load) => {
        const weights = await load();
        const arrays = held.splice(0);
        const prepared = prepareWeights(weights, arrays, engine);
        held.push(...arrays);
        return { weights: prepared, reused: false };
      },
    },
  );
  const ms = performance.now() - t0;
  for (const a of held) engine.release(a);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  // The same reads runLayer makes, through a source whose counter we can see.
  const source = await openSafetensorsSource(file);
  const layer = findLayers(source.tensors, source.hints, file)[0];
  await loadLayer(source, layer);
  const bytesRead = source.bytesRead;
  await source.close();
  const layerBytes = 4 * (2 * r.dModel * r.dFf + r.dFf + r.dModel);
  await engine.dispose();
  console.log(JSON.stringify({ ms, loadMs: r.timings.loadMs, computeMs: r.timings.computeMs, baselineRss, peakRss, bytesRead, layerBytes, kernel: engine.path }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
