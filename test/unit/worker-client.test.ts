import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Worker } from 'worker_threads';
import * as esbuild from 'esbuild';
import { FfnLensError } from '../../src/core/errors';
import { inspectFile, runLayer } from '../../src/pipeline';
import type { RunRequest, RunResult } from '../../src/protocol/run';
import type { ToWorker } from '../../src/protocol/worker';
import { ComputeClient } from '../../src/worker/client';
import { safetensorsBytes, type StTensor } from '../helpers/binaryWriters';
import { values } from '../helpers/products';

const root = path.join(__dirname, '../..');
let dir: string;
let workerJs: string;
let clientJs: string;

const raw = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A GPT-2-style (c_fc / c_proj, [in, out]) float32 layer of d_model d and d_ff f. */
function writeLayer(name: string, d: number, f: number): string {
  const tensors: StTensor[] = [
    { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [d, f], values: raw(values(d * f, 1, 1 / Math.sqrt(d))) },
    { name: 'h.0.mlp.c_fc.bias', dtype: 'F32', shape: [f], values: raw(values(f, 2, 0.1)) },
    { name: 'h.0.mlp.c_proj.weight', dtype: 'F32', shape: [f, d], values: raw(values(f * d, 3, 1 / Math.sqrt(f))) },
    { name: 'h.0.mlp.c_proj.bias', dtype: 'F32', shape: [d], values: raw(values(d, 4, 0.1)) },
  ];
  const p = path.join(dir, name);
  fs.writeFileSync(p, safetensorsBytes(tensors));
  return p;
}

/** Equal within float32 rounding of differently ordered sums: 1e-4 of the array's largest value. */
function assertNear(got: Float32Array, want: Float32Array, what: string): void {
  assert.strictEqual(got.length, want.length, what);
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-4 * max)) assert.fail(`${what}[${i}] = ${got[i]}, in-process ${want[i]}`);
  }
}

async function rejectsCancelled(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FfnLensError && e.kind === 'cancelled');
}

/** Aborts when the worker reports it is running the layer (so the product is under way). */
function abortWhenRunning(controller: AbortController): (p: { message: string }) => void {
  return (p) => {
    if (/running/.test(p.message)) controller.abort();
  };
}

describe('worker: ComputeClient', function () {
  // Building the bundles and a 32 MB layer takes a moment on a busy machine.
  this.timeout(60000);
  let small: string;
  let medium: string;
  let large: string;
  const clients: ComputeClient[] = [];
  const client = (options?: ConstructorParameters<typeof ComputeClient>[1]): ComputeClient => {
    const c = new ComputeClient(workerJs, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-worker-'));
    workerJs = path.join(dir, 'worker.js');
    clientJs = path.join(dir, 'client.js');
    // The real bundles, built as esbuild.js builds dist/worker.js.
    const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node18', logLevel: 'error' } as const;
    await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/worker/worker.ts')], outfile: workerJs });
    await esbuild.build({ ...common, entryPoints: [path.join(root, 'src/worker/client.ts')], outfile: clientJs });
    small = writeLayer('small.safetensors', 24, 96);
    medium = writeLayer('medium.safetensors', 256, 1024);
    large = writeLayer('large.safetensors', 1024, 4096);
  });
  after(() => {
    for (const c of clients) c.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [label, file, tokens] of [
    ['a small layer (one thread)', () => small, 5],
    ['a medium layer (split across threads)', () => medium, 64],
  ] as const) {
    it(`returns the same numbers as runLayer in-process for ${label}`, async () => {
      const req: RunRequest = { file: file(), inputs: { kind: 'random', tokens, seed: 7 }, topK: 3 };
      const progress: number[] = [];
      const got = await client({ threads: 2 }).run(req, { onProgress: (p) => progress.push(p.fraction) });
      const want = await runLayer(req);
      assert.deepStrictEqual(got.tokens, want.tokens);
      assert.deepStrictEqual([got.dModel, got.dFf, got.activation, got.layer.id], [want.dModel, want.dFf, want.activation, want.layer.id]);
      for (const key of ['input', 'preActivation', 'hidden', 'output', 'w2RowNorms'] as const) {
        assert.ok(got[key] instanceof Float32Array, key);
        assertNear(got[key], want[key], key);
      }
      assert.ok(progress.length > 0 && progress[progress.length - 1] === 1, `progress ${progress}`);
    });
  }

  it('returns the same numbers as runLayer in-process for a gated layer (weights prepared for the kernel), and again from the held layer', async () => {
    // d_model 36 (not a multiple of 8: w2's panels take a new block), d_ff 200; a NaN in w2.
    const [d, f] = [36, 200];
    const down = values(d * f, 33, 1 / Math.sqrt(f));
    down[7] = NaN;
    const file = path.join(dir, 'gated.safetensors');
    fs.writeFileSync(file, safetensorsBytes([
      { name: 'model.layers.0.mlp.gate_proj.weight', dtype: 'F32', shape: [f, d], values: raw(values(f * d, 31, 1 / Math.sqrt(d))) },
      { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F32', shape: [f, d], values: raw(values(f * d, 32, 1 / Math.sqrt(d))) },
      { name: 'model.layers.0.mlp.down_proj.weight', dtype: 'F32', shape: [d, f], values: raw(down) },
    ]));
    const c = client({ threads: 2 });
    for (const [seed, reused] of [[1, false], [2, true]] as const) {
      const req: RunRequest = { file, inputs: { kind: 'random', tokens: 9, seed }, topK: 4 };
      const got = await c.run(req);
      const want = await runLayer(req);
      assert.strictEqual(got.timings.weightsReused, reused);
      assert.strictEqual(got.activation, 'swiglu');
      for (const key of ['input', 'preActivation', 'hidden', 'output'] as const) {
        // The NaN reaches one output column: the same one on both sides; the rest is near.
        const nan = (a: Float32Array): number[] => [...a.keys()].filter((i) => Number.isNaN(a[i]));
        assert.deepStrictEqual(nan(got[key]), nan(want[key]), `${key}: NaN positions`);
        const finite = (a: Float32Array): Float32Array => a.map((v) => (Number.isNaN(v) ? 0 : v));
        assertNear(finite(got[key]), finite(want[key]), key);
      }
      assert.deepStrictEqual(got.w2RowNorms, want.w2RowNorms, 'the norms of w2 rows, computed before w2 was rearranged');
      assert.deepStrictEqual(got.warnings, want.warnings);
      assert.ok(got.warnings.some((w) => /NaN/.test(w)), 'the NaN in w2 is still reported');
    }
  });

  it('lowers the priority of the worker and its GEMM thread, not the calling thread (Linux)', async function () {
    if (process.platform !== 'linux') this.skip();
    // /proc/self/task/<tid>/stat: the nice value is the 17th field after "(comm) ".
    const nice = (tid: string): number => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const niced = (): number => fs.readdirSync('/proc/self/task').filter((t) => nice(t) === 7).length;
    const before = niced();
    const c = client({ threads: 2, nice: 7 });
    await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
    assert.strictEqual(nice(String(process.pid)), 0);
    assert.strictEqual(niced() - before, 2, 'the worker and its one helper, and no shared thread-pool thread');
    c.dispose();
  });

  it('inspects a file as inspectFile does', async () => {
    const got = await client().inspect(small, { stats: true });
    const want = await inspectFile(small, { stats: true });
    assert.deepStrictEqual(got, want);
  });

  it('reports a user error as an FfnLensError naming the file', async () => {
    const c = client();
    await assert.rejects(c.run({ file: path.join(dir, 'missing.safetensors'), inputs: { kind: 'random', tokens: 1, seed: 1 } }), (e: unknown) => e instanceof FfnLensError && e.describe().includes('missing.safetensors'));
  });

  it('rejects a cancelled run with a cancelled error; the worker stops it itself and runs the next', async () => {
    // A long grace: the worker must answer the cancel on its own (the product checks between chunks).
    const c = client({ threads: 2, cancelGraceMs: 30000 });
    const controller = new AbortController();
    const run = c.run({ file: large, inputs: { kind: 'random', tokens: 512, seed: 1 } }, { signal: controller.signal, onProgress: abortWhenRunning(controller) });
    await rejectsCancelled(run);
    const next = await c.run({ file: small, inputs: { kind: 'random', tokens: 2, seed: 1 } });
    assert.strictEqual(next.output.length, 2 * 24);
    assert.strictEqual(c.workerStarts, 1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await rejectsCancelled(client().run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } }, { signal: controller.signal }));
  });

  it('terminates a worker that does not answer a cancel in time, and the next run starts a new one', async function () {
    // Opening a FIFO blocks until someone writes to it: the worker cannot finish the request.
    const fifo = path.join(dir, 'stuck.safetensors');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      this.skip();
    }
    let stuck: Worker | undefined;
    try {
      const c = client({ cancelGraceMs: 200 });
      await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
      assert.ok(c.kernel, 'the first worker is up');
      const controller = new AbortController();
      const run = c.run({ file: fifo, inputs: { kind: 'random', tokens: 1, seed: 1 } }, { signal: controller.signal });
      stuck = (c as unknown as { worker: Worker }).worker;
      setTimeout(() => controller.abort(), 100);
      await rejectsCancelled(run);
      // The client drops the worker (its kernel info goes) once the grace time has passed.
      while (c.kernel) await new Promise((resolve) => setTimeout(resolve, 20));
      const next = await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
      assert.strictEqual(next.output.length, 24);
      assert.strictEqual(c.workerStarts, 2);
    } finally {
      // Release the thread-pool thread still blocked opening the FIFO (O_RDWR on a FIFO never
      // blocks). Until then the terminated worker cannot finish exiting, and the process could not either.
      const exited = stuck && new Promise((resolve) => stuck?.once('exit', resolve));
      fs.closeSync(fs.openSync(fifo, fs.constants.O_RDWR));
      await exited;
    }
  });

  it('restarts a crashed worker on the next run; the run it was on rejects', async () => {
    const c = client();
    await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
    const pending = c.run({ file: large, inputs: { kind: 'random', tokens: 64, seed: 1 } });
    // Reach the worker the way a crash would: it exits with code 3.
    const worker = (c as unknown as { worker: Worker }).worker;
    worker.postMessage({ type: 'exit', code: 3 } satisfies ToWorker);
    await assert.rejects(pending, /exit code 3/);
    const next: RunResult = await c.run({ file: small, inputs: { kind: 'random', tokens: 3, seed: 1 } });
    assert.strictEqual(next.output.length, 3 * 24);
    assert.strictEqual(c.workerStarts, 2);
  });

  it('leaves no thread behind after dispose: the process exits on its own', () => {
    const script = `
      const { ComputeClient } = require(${JSON.stringify(clientJs)});
      const c = new ComputeClient(${JSON.stringify(workerJs)}, { threads: 2 });
      c.run({ file: ${JSON.stringify(medium)}, inputs: { kind: 'random', tokens: 64, seed: 1 } }).then((r) => {
        console.log('ran', r.output.length);
        c.dispose();
      });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
    assert.strictEqual(child.error, undefined, 'the process did not exit within 30 s');
    assert.strictEqual(child.status, 0, child.stderr);
    assert.match(child.stdout, /ran 16384/);
  });

  it('warm() starts the worker before any request, and the first run uses it', async () => {
    const c = client();
    assert.strictEqual(c.running, false);
    c.warm();
    assert.strictEqual(c.running, true);
    c.warm();
    const r = await c.run({ file: small, inputs: { kind: 'random', tokens: 2, seed: 1 } });
    assert.strictEqual(r.output.length, 2 * 24);
    assert.strictEqual(c.workerStarts, 1, 'warm() twice and a run started more than one worker');
  });

  it('stops a worker idle for idleStopMs (its thread exits), and the next run starts a new one', async () => {
    let stops = 0;
    const c = client({ idleStopMs: 150, onIdleStop: () => stops++ });
    await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
    const worker = (c as unknown as { worker: Worker }).worker;
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    assert.strictEqual(c.running, true);
    await exited; // within the mocha timeout, or the test fails
    assert.strictEqual(c.running, false);
    assert.strictEqual(stops, 1);
    const next = await c.run({ file: small, inputs: { kind: 'random', tokens: 3, seed: 1 } });
    assert.strictEqual(next.output.length, 3 * 24);
    assert.strictEqual(c.workerStarts, 2);
  });

  it('does not stop a worker that is busy when the idle time is up', async () => {
    let stops = 0;
    const c = client({ idleStopMs: 1, onIdleStop: () => stops++ });
    c.warm(); // arms the countdown; the run below must cancel it
    const r = await c.run({ file: large, inputs: { kind: 'random', tokens: 64, seed: 1 } });
    assert.strictEqual(r.output.length, 64 * 1024);
    assert.strictEqual(stops, 0, 'the worker was stopped during a run');
    assert.strictEqual(c.workerStarts, 1);
  });

  it('without idleStopMs keeps the worker', async () => {
    const c = client();
    await c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.strictEqual(c.running, true);
  });

  it('reports the run stages in order, `read` once the layer is found', async () => {
    const stages: string[] = [];
    const c = client();
    await c.run({ file: small, inputs: { kind: 'random', tokens: 2, seed: 1 } }, { onProgress: (p) => p.stage && stages.push(p.stage) });
    assert.deepStrictEqual(stages, ['open', 'read', 'inputs', 'compute', 'analyse', 'done']);
    const failed: string[] = [];
    await assert.rejects(c.run({ file: small, layer: 'h.9.mlp', inputs: { kind: 'random', tokens: 2, seed: 1 } }, { onProgress: (p) => p.stage && failed.push(p.stage) }));
    assert.deepStrictEqual(failed, ['open'], 'a layer the file lacks must fail before the `read` stage');
  });

  describe('keeps the last layer\'s weights', () => {
    const check = async (got: RunResult, req: RunRequest, what: string): Promise<void> => {
      const want = await runLayer(req);
      for (const key of ['preActivation', 'hidden', 'output'] as const) assertNear(got[key], want[key], `${what}: ${key}`);
    };

    it('re-runs the same layer with other inputs and another activation without reading it, with the right numbers', async () => {
      const c = client({ threads: 2 });
      const first: RunRequest = { file: medium, inputs: { kind: 'random', tokens: 16, seed: 1 } };
      const a = await c.run(first);
      assert.strictEqual(a.timings.weightsReused, false);
      const second: RunRequest = { file: medium, inputs: { kind: 'random', tokens: 9, seed: 2 }, activation: 'silu' };
      const b = await c.run(second);
      assert.strictEqual(b.timings.weightsReused, true, 'the same layer was read again');
      assert.strictEqual(b.activation, 'silu');
      await check(b, second, 'reused weights, silu');
    });

    it('reads the file again once it has changed, and another layer replaces the held one', async () => {
      const c = client();
      const file = writeLayer('changing.safetensors', 24, 96);
      const req: RunRequest = { file, inputs: { kind: 'random', tokens: 3, seed: 1 } };
      await c.run(req);
      // Same size, other values, a later modification time: what re-exporting a checkpoint does.
      const tensors: StTensor[] = ['c_fc', 'c_proj'].flatMap((m, i) => [
        { name: `h.0.mlp.${m}.weight`, dtype: 'F32', shape: i ? [96, 24] : [24, 96], values: raw(values(24 * 96, 10 + i, 0.5)) },
        { name: `h.0.mlp.${m}.bias`, dtype: 'F32', shape: [i ? 24 : 96], values: raw(values(i ? 24 : 96, 20 + i, 0.1)) },
      ]);
      fs.writeFileSync(file, safetensorsBytes(tensors));
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(file, later, later);
      const changed = await c.run(req);
      assert.strictEqual(changed.timings.weightsReused, false, 'a changed file was not read again');
      await check(changed, req, 'changed file');
      const other = await c.run({ file: small, inputs: { kind: 'random', tokens: 2, seed: 1 } });
      assert.strictEqual(other.timings.weightsReused, false);
      const back = await c.run(req);
      assert.strictEqual(back.timings.weightsReused, false, 'one layer is held at a time');
    });

    it('a run still using the held layer keeps it when a newer run replaces it', async () => {
      const c = client({ threads: 2 });
      const reqs: RunRequest[] = [
        { file: large, inputs: { kind: 'random', tokens: 48, seed: 3 } },
        { file: medium, inputs: { kind: 'random', tokens: 40, seed: 4 } },
        { file: large, inputs: { kind: 'random', tokens: 33, seed: 5 } },
      ];
      // Sent together: the worker interleaves their reads, and each newer layer replaces the held one.
      const results = await Promise.all(reqs.map((r) => c.run(r)));
      for (let i = 0; i < reqs.length; i++) await check(results[i], reqs[i], `run ${i}`);
    });
  });

  it('rejects requests after dispose', async () => {
    const c = client();
    c.dispose();
    await rejectsCancelled(c.run({ file: small, inputs: { kind: 'random', tokens: 1, seed: 1 } }));
  });
});
