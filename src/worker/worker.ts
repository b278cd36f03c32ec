/**
 * The compute worker: runs layers and inspections off the extension host's thread with the
 * fastest GEMM this engine has (src/kernels) with the layer decoded straight into kernel memory,
 * posts progress, and transfers result arrays.
 * Started by ComputeClient (src/worker/client.ts) with `WorkerStartData`. No `vscode` import.
 */
import { promises as fs } from 'fs';
import { parentPort, workerData } from 'worker_threads';
import { describeError, FfnLensError, isFfnLensError } from '../core/errors';
import type { Gemm, PreparedGemm } from '../core/gemm';
import { createGemmEngine, lowerThreadPriority } from '../kernels';
import { inspectFile } from '../pipeline';
import { runLayerOnEngine } from '../pipeline/engineRun';
import { HeldWeights } from '../pipeline/heldWeights';
import { ModelHolder } from '../pipeline/heldModel';
import { DEFAULT_HOLD_BYTES, runModel } from '../pipeline/runModel';
import { corpusFile } from '../model/corpus';
import { neuronCard } from '../model/neuron';
import { ModelWeights } from '../model/weights';
import { scanCorpus } from '../model/scan';
import { compareOnText, compareWeights } from '../pipeline/compare';
import type { FromWorker, ToWorker, WorkerError, WorkerStartData } from '../protocol/worker';

if (!parentPort) throw new Error('src/worker/worker.ts runs as a worker thread');
const port = parentPort;
const start = workerData as WorkerStartData;
const cancelFlag = new Int32Array(start.cancelFlag);

const engine = createGemmEngine({ threads: start.threads, path: start.kernel, helperNice: start.nice });
/**
 * The GEMM helper threads up (they boot only once this thread's event loop runs) and the kernel
 * warm. libuv's thread pool (process-wide, created on first use) is created first, by this stat,
 * so that it never inherits the lower priority below.
 */
const engineReady = fs.stat(__filename).then(
  () => undefined,
  () => undefined,
).then(() => engine.ready());
/**
 * Products wait for this: this thread lowers its priority before its first product, not at start,
 * so starting up and reading the first layer (one thread, while the window is busy drawing the
 * panel) are not slowed down; the products, which take every core, yield to the extension host.
 * The helper threads lower theirs as they start (they only ever compute).
 */
const computeReady = engineReady.then(() => {
  lowerThreadPriority(start.nice);
});
/** The last layer's weights (see heldWeights.ts). */
const held = new HeldWeights((array) => engine.release(array));

/** The model the panel last ran, kept open with its weights and residuals. */
const models = new ModelHolder(engine);

/** Requests in flight, so a `cancel` message can abort their I/O. */
const controllers = new Map<number, AbortController>();

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/**
 * The buffers of the typed arrays in `value` that can be moved without copying: each must be
 * a plain ArrayBuffer the view covers whole (a slice of a pooled buffer stays a copy).
 */
function transferables(value: unknown, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength) out.add(b);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}

function toWorkerError(e: unknown): WorkerError {
  if (isFfnLensError(e)) return { name: 'FfnLensError', message: e.message, file: e.file, kind: e.kind };
  return { name: e instanceof Error ? e.name : 'Error', message: describeError(e) };
}

/** The engine's GEMMs, stoppable between column chunks when the host flags request `id`. */
function gemmFor(id: number, controller: AbortController): { gemm: Gemm; gemmPrepared: PreparedGemm } {
  const stoppable = <T>(product: () => T): T => {
    engine.cancelCheck = () => {
      if (Atomics.load(cancelFlag, 0) !== id) return false;
      controller.abort();
      return true;
    };
    try {
      return product();
    } finally {
      engine.cancelCheck = undefined;
    }
  };
  return {
    gemm: (a, b, m, k, n, out, bias) => stoppable(() => engine.gemm(a, b, m, k, n, out, bias)),
    gemmPrepared: (a, b, m, out, bias) => stoppable(() => engine.gemmPrepared(a, b, m, out, bias)),
  };
}

async function handle(msg: Exclude<ToWorker, { type: 'cancel' } | { type: 'exit' }>): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  const { id } = msg;
  try {
    // Nothing waits for the kernel to warm up but the products themselves: an inspection never
    // uses it, and a run reads its file meanwhile (`computeReady`).
    switch (msg.type) {
      case 'run': {
        // The one engine path (src/pipeline/engineRun.ts), keeping the layer for the next run.
        const result = await runLayerOnEngine(msg.request, engine, {
          signal: controller.signal,
          onProgress: (progress) => post({ type: 'progress', id, progress }),
          ...gemmFor(id, controller),
          computeReady,
          held,
        });
        post({ type: 'runResult', id, result }, transferables(result));
        break;
      }
      case 'runModel': {
        await computeReady;
        const result = await runModel(msg.request, engine, {
          signal: controller.signal,
          onProgress: (fraction, message) => post({ type: 'progress', id, progress: { fraction, message, stage: 'compute' } }),
          holder: models,
        });
        post({ type: 'modelResult', id, result }, transferables(result));
        break;
      }
      case 'neuronCard': {
        const r = msg.request;
        const held = await models.get(r.model, r.memoryBudgetBytes ?? DEFAULT_HOLD_BYTES);
        // the vocabulary matrices stay laid out for the kernel in the held model: a card is two products
        await computeReady;
        const w = new ModelWeights(held.model.source, engine, controller.signal, held.store);
        const d = held.model.spec.dModel;
        const product = async (name: string, V: number, v: Float32Array): Promise<Float64Array> => Float64Array.from(await w.linear({ weight: name, layout: 'out_in' }, v, 1, d, V));
        post({ type: 'neuronCardResult', id, result: await neuronCard(held.model, r.layer, r.neuron, r.top, r.raw, product) });
        break;
      }
      case 'scan': {
        await computeReady;
        const r = msg.request;
        const held = await models.get(r.model, r.memoryBudgetBytes ?? DEFAULT_HOLD_BYTES);
        const result = await scanCorpus(held.model, r.files.map(corpusFile), {
          engine,
          layer: r.layer,
          ctx: r.ctx,
          top: r.top,
          neurons: r.neurons,
          threshold: r.threshold,
          store: held.store,
          signal: controller.signal,
          onProgress: (fraction, message) => post({ type: 'progress', id, progress: { fraction, message, stage: 'compute' } }),
        });
        post({ type: 'scanResult', id, result });
        break;
      }
      case 'compare': {
        await computeReady;
        const result = await compareOnText(msg.request, engine, {
          signal: controller.signal,
          onProgress: (fraction, message) => post({ type: 'progress', id, progress: { fraction, message, stage: 'compute' } }),
        });
        post({ type: 'compareResult', id, result }, transferables(result));
        break;
      }
      case 'compareWeights': {
        const result = await compareWeights(msg.request, {
          signal: controller.signal,
          onProgress: (fraction, message) => post({ type: 'progress', id, progress: { fraction, message, stage: 'compute' } }),
        });
        post({ type: 'compareWeightsResult', id, result });
        break;
      }
      case 'inspect': {
        const result = await inspectFile(msg.path, { stats: msg.stats, signal: controller.signal, memoryBudgetBytes: msg.memoryBudgetBytes });
        post({ type: 'inspectResult', id, result }, transferables(result));
        break;
      }
      default: {
        const never: never = msg;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  } catch (e) {
    // A request cancelled while it ran reports `cancelled`, whatever the abort broke on the way.
    const error = controller.signal.aborted && !(isFfnLensError(e) && e.kind === 'cancelled') ? new FfnLensError('cancelled', undefined, 'cancelled') : e;
    post({ type: 'error', id, error: toWorkerError(error) });
  } finally {
    controllers.delete(id);
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'run':
    case 'runModel':
    case 'neuronCard':
    case 'scan':
    case 'compare':
    case 'compareWeights':
    case 'inspect':
      void handle(msg);
      break;
    case 'cancel':
      controllers.get(msg.id)?.abort();
      break;
    case 'exit':
      process.exit(msg.code);
      break;
    default: {
      const never: never = msg;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

void engineReady.then(() =>
  post({ type: 'ready', kernel: { path: engine.path, threads: engine.threads, relaxedSimdByFlag: engine.features.relaxedSimdByFlag } }),
);
