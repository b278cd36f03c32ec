/**
 * Whole models (issue 11), side by side with PyTorch in one run: peak RSS of `ffn-lens run
 * --predict` on a 3-block LLaMA-7B-shaped bf16 folder (sharded) against bench/torch_llama.py, and
 * the time of text -> layer 11 activations of a GPT-2-small-shaped folder against
 * bench/torch_gpt2.py (nanoGPT's blocks). `npm run bench -- model` runs this section alone.
 * Folders are generated into `work` and removed as soon as their case is done. Whatever is
 * missing (PyTorch, GNU time, the CLI's model commands) is said in one line and skipped.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteLevelTokenizerJson, cutToTokens, encodeIds, ENGLISH, gpt2Config, gpt2SmallTensors, llama7bConfig, llama7bTensors, readmeCorpus, trainBpe, writeModelFolder } from './modelFiles';
import { fmtMs, median } from './shapes';

export const fmtTime = (ms: number): string => (ms < 1000 ? fmtMs(ms) : `${(ms / 1000).toFixed(2)} s`);

export type Log = (s?: string) => void;

export interface Sample {
  ms: number;
  rssKiB?: number;
  stdout: string;
}

/** One side of a comparison: how to run it, its samples, or why it stopped. */
export interface Side {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  samples: Sample[];
  failed?: string;
}

export const TIME = '/usr/bin/time';
export const GIB_KIB = 1024 * 1024;

/** The line of a child's stderr that says what went wrong (GNU time's own lines left out), safe in a table cell. */
export function why(stderr: string | undefined): string {
  const lines = (stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !/^(Command exited with|Command terminated by|RSS \d+$)/.test(l));
  const line = lines.find((l) => /^error:|Error\b/.test(l)) ?? lines[lines.length - 1] ?? 'no message';
  return line.replace(/\|/g, '/').slice(0, 300);
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** The child running now, ended by the signal handler so none outlives the bench. */
let current: ChildProcess | undefined;

/**
 * Runs a command to its end without blocking this thread: tsx SIGKILLs a child whose event loop
 * cannot answer a relayed Ctrl-C within 60 ms, which would skip the removal of `work`.
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    // Its own process group, so that the handler ends the command under GNU time too.
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error) => resolve({ status: null, stdout: '', stderr: '', error }));
    child.on('close', (status, signal) => {
      current = undefined;
      resolve({ status: status ?? (signal ? 128 : null), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/**
 * On SIGINT / SIGTERM, ends the command running through `run` (its process group) and exits
 * through the 'exit' handlers (Node's default on a signal skips them; they remove `work`).
 * Returns what removes the handlers.
 */
export function stopOnSignals(): () => void {
  const stop = (): never => {
    if (current?.pid) process.kill(-current.pid, 'SIGTERM');
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

/** Runs a side once: wall time from spawn to exit, peak RSS through GNU time when it is installed. */
export async function timed(side: Side): Promise<Sample> {
  const withTime = fs.existsSync(TIME);
  const t0 = performance.now();
  const r = withTime ? await run(TIME, ['-f', 'RSS %M', side.cmd, ...side.args], side.env) : await run(side.cmd, side.args, side.env);
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${why(r.stderr)}`);
  const rss = /RSS (\d+)\s*$/.exec(r.stderr);
  return { ms, rssKiB: rss ? Number(rss[1]) : undefined, stdout: r.stdout };
}

/** A warm-up of each side, then `reps` runs of each alternated; a side that fails stops and says why. */
export async function alternate(sides: Side[], reps: number): Promise<void> {
  for (let i = 0; i <= reps; i++) {
    for (const s of sides) {
      if (s.failed) continue;
      try {
        const sample = await timed(s);
        // Only the last run's output is read: let the earlier ones go (the GPT-2 JSON is ~14 MB).
        for (const prev of s.samples) prev.stdout = '';
        if (i > 0) s.samples.push(sample);
        else s.samples.push({ ...sample, ms: NaN }); // the warm-up: its RSS and output count, not its time
      } catch (e) {
        s.failed = (e as Error).message;
      }
    }
  }
}

export const times = (s: Side): number[] => s.samples.map((x) => x.ms).filter((ms) => !Number.isNaN(ms));
export const peakKiB = (s: Side): number | undefined => {
  const r = s.samples.map((x) => x.rssKiB).filter((x): x is number => x !== undefined);
  return r.length ? Math.max(...r) : undefined;
};
export const mib = (kib: number | undefined): string => (kib === undefined ? 'RSS n/a' : `${(kib / 1024).toFixed(0)} MiB`);
export const timeCell = (s: Side): string => {
  const t = times(s);
  return s.failed && !t.length ? `failed: ${s.failed}` : `${fmtTime(median(t))} (${fmtTime(Math.min(...t))})`;
};
export const lastJson = (s: Side): Record<string, unknown> | undefined => {
  const out = s.samples[s.samples.length - 1]?.stdout;
  try {
    return out ? (JSON.parse(out) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The Python that imports torch (pyenv's python3 may not have it; Debian's python3-torch is for /usr/bin/python3). */
export async function findTorch(env: NodeJS.ProcessEnv): Promise<{ python: string; about: string } | { missing: string }> {
  const reasons: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = await run(python, ['-c', 'import numpy, torch; print(torch.__version__, numpy.__version__); print(torch.__config__.show())'], env);
    if (r.status === 0) {
      const [versions, ...config] = r.stdout.trim().split('\n');
      const [torch, numpy] = versions.split(' ');
      const blas = /BLAS_INFO=([^,]+)/.exec(r.stdout)?.[1] ?? '?';
      const lapack = /LAPACK_INFO=([^,]+)/.exec(r.stdout)?.[1] ?? '?';
      const cpu = config.find((l) => /CPU capability/.test(l))?.replace(/^\s*-\s*/, '') ?? '';
      return { python, about: `${python}: torch ${torch}, numpy ${numpy}; torch.__config__.show(): BLAS_INFO=${blas}, LAPACK_INFO=${lapack}, ${cpu}` };
    }
    reasons.push(`${python}: ${r.error ? r.error.message : why(r.stderr)}`);
  }
  return { missing: reasons.join('; ') };
}

/** Python's environment: OpenBLAS picks its own kernel (see bench/numpy.ts). */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** The top-k predictions in `run --predict --json` (`next: [{id, prob}]`), else any list of ids under a key naming them. */
function predictions(doc: Record<string, unknown> | undefined): { ids: number[]; probs?: number[] } | undefined {
  if (!doc) return undefined;
  const list = doc.next ?? Object.entries(doc).find(([k, v]) => /predict|next/i.test(k) && Array.isArray(v))?.[1];
  if (!Array.isArray(list) || !list.length) return undefined;
  const rows = list.map((x) => (typeof x === 'number' ? { id: x } : (x as { id?: unknown; prob?: unknown })));
  if (!rows.every((r) => typeof r.id === 'number')) return undefined;
  const probs = rows.every((r) => 'prob' in r && typeof r.prob === 'number') ? rows.map((r) => (r as { prob: number }).prob) : undefined;
  return { ids: rows.map((r) => r.id as number), probs };
}

/** A T x n float32 .npy file's values. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const b = fs.readFileSync(file);
  const len = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + len);
  if (!/'descr': '<f4'/.test(header) || /'fortran_order': True/.test(header)) throw new Error(`unexpected .npy header ${header}`);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.length));
  return { shape, data };
}

/** Max |ours - torch| and torch's max |value| over layer L's hidden activations. */
function compareActivations(doc: Record<string, unknown> | undefined, npy: string): string {
  const hidden = doc?.hidden;
  if (!Array.isArray(hidden)) return 'not compared: the CLI JSON has no `hidden` (T x d_ff) array';
  const ref = readNpy(npy);
  const [T, n] = ref.shape;
  if (hidden.length !== T || (hidden[0] as unknown[]).length !== n) return `not compared: ours is ${hidden.length} x ${(hidden[0] as unknown[])?.length}, PyTorch's ${T} x ${n}`;
  let diff = 0;
  let scale = 0;
  for (let t = 0; t < T; t++) {
    const row = hidden[t] as (number | null)[];
    for (let i = 0; i < n; i++) {
      const r = ref.data[t * n + i];
      diff = Math.max(diff, Math.abs((row[i] ?? NaN) - r));
      scale = Math.max(scale, Math.abs(r));
    }
  }
  return `max |ffn-lens - PyTorch| = ${diff.toExponential(2)} (PyTorch's max |h| ${scale.toFixed(3)})`;
}

/** `n` token ids in [3, vocab) from the LCG of shapes.ts. */
export function llamaIds(n: number, vocab = 32000): number[] {
  let s = 7;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 3 + (s % (vocab - 3));
  });
}

async function llamaCase(cli: string, work: string, torch: { python: string } | undefined, log: Log): Promise<void> {
  const dir = path.join(work, 'llama7b-3-blocks');
  try {
    const t0 = performance.now();
    const size = await writeModelFolder(dir, llama7bConfig(3), llama7bTensors(3), 2);
    log(`### LLaMA-7B-shaped, 3 blocks, bf16, untied lm_head, 2 shards + index (${(size / 1e9).toFixed(2)} GB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s; in the page cache)`);
    log();
    const ids = llamaIds(128).join(',');
    const ours: Side = { cmd: process.execPath, args: [cli, 'run', dir, '--ids', ids, '--layer', '2', '--predict', '5', '--json'], env: process.env, samples: [] };
    const peer: Side = torch
      ? { cmd: torch.python, args: [path.join(__dirname, 'torch_llama.py'), dir, '--ids', ids, '--predict', '5'], env: pythonEnv(), samples: [] }
      : { cmd: '', args: [], env: {}, samples: [], failed: 'PyTorch not found' };
    const REPS = 3;
    await alternate([ours, peer], REPS);
    const oursTop = predictions(lastJson(ours));
    const doc = lastJson(peer);
    const peerTop = doc?.top as number[] | undefined;
    const peerProbs = doc?.probs as number[] | undefined;
    let agree = '-';
    if (oursTop && peerTop) {
      agree = oursTop.ids.join() === peerTop.join() ? 'agree' : 'DIFFER';
      if (oursTop.probs && peerProbs && agree === 'agree') agree += `; largest p difference ${Math.max(...oursTop.probs.map((p, i) => Math.abs(p - peerProbs[i]))).toExponential(1)}`;
    }
    log(`\`ffn-lens run <folder> --ids <128 ids> --layer 2 --predict 5 --json\` against bench/torch_llama.py (plain torch modules, bf16 widened to float32, meta-device init); a warm-up of each, then ${REPS} runs each, alternated. Peak RSS is the largest of all runs (GNU time %M).`);
    log();
    log('| measure | ffn-lens run | PyTorch script | target |');
    log('|---|---|---|---|');
    const oursRss = peakKiB(ours);
    log(`| peak RSS | ${ours.failed && !ours.samples.length ? `failed: ${ours.failed}` : mib(oursRss)} | ${peer.failed && !peer.samples.length ? peer.failed : mib(peakKiB(peer))} | ffn-lens <= 1024 MiB${oursRss !== undefined ? (oursRss <= GIB_KIB ? ' (met)' : ' (NOT met)') : ''} |`);
    log(`| wall time, spawn to exit: median (best) | ${timeCell(ours)} | ${peer.failed && !peer.samples.length ? '-' : timeCell(peer)} | - |`);
    if (doc) log(`| PyTorch's own split (last run) | - | import ${fmtTime(Number(doc.import_ms))}, load ${fmtTime(Number(doc.load_ms))}, forward + top-k ${fmtTime(Number(doc.forward_ms))} | - |`);
    const probs = (p: number[] | undefined): string => (p ? ` (p ${p.map((x) => x.toPrecision(4)).join(', ')})` : '');
    log(`| top-5 next-token ids | ${oursTop ? oursTop.ids.join(', ') + probs(oursTop.probs) : ours.samples.length ? 'not found in the JSON' : '-'} | ${peerTop ? peerTop.join(', ') + probs(peerProbs) : '-'} | ${agree} |`);
    for (const [name, s] of [['ffn-lens', ours], ['PyTorch', peer]] as const) if (s.failed && s.samples.length) log(`\n${name} failed after ${s.samples.length} runs: ${s.failed}`);
    if (doc) log(`\nPyTorch: ${doc.threads} intra-op thread(s) (its default here), BLAS ${JSON.stringify(doc.blas)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log();
}

async function gpt2Case(cli: string, work: string, torch: { python: string } | undefined, log: Log): Promise<void> {
  const dir = path.join(work, 'gpt2-small');
  const textFile = path.join(work, 'english-81.txt');
  const acts = path.join(work, 'torch-layer11.npy');
  try {
    const t0 = performance.now();
    const merges = trainBpe(readmeCorpus(path.join(__dirname, '..', 'node_modules')), 2000);
    const tokenizer = byteLevelTokenizerJson(merges, 50257);
    const tTok = performance.now() - t0;
    const size = await writeModelFolder(dir, gpt2Config(), gpt2SmallTensors());
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    const text = cutToTokens(tokenizer, ENGLISH, 81) ?? ENGLISH;
    fs.writeFileSync(textFile, text);
    log(`### GPT-2-small-shaped, 12 blocks, float32, tied head (${(size / 1e6).toFixed(0)} MB, written in ${((performance.now() - t0 - tTok) / 1000).toFixed(1)} s; tokenizer.json: byte-level BPE, ${merges.length} merges learned in ${(tTok / 1000).toFixed(1)} s from the READMEs in node_modules, padded to 50257 tokens)`);
    log();
    const tok = await run(process.execPath, [cli, 'tokenize', dir, '--text-file', textFile, '--json'], process.env);
    let ids: number[] | undefined;
    let idsFrom = '`ffn-lens tokenize` (untimed)';
    try {
      if (tok.status !== 0) throw new Error(tok.error ? tok.error.message : why(tok.stderr));
      ids = (JSON.parse(tok.stdout) as { ids: number[] }).ids;
    } catch (e) {
      log(`\`ffn-lens tokenize\` failed (${(e as Error).message}); PyTorch gets the ids of @huggingface/tokenizers on the same tokenizer.json instead`);
      ids = encodeIds(tokenizer, text);
      idsFrom = '@huggingface/tokenizers directly (untimed)';
    }
    log(`Text: ${ids.length} tokens${ids.length === 81 ? '' : ' (NOT the 81 asked for)'}: "${text}"`);
    log();
    const ours: Side = { cmd: process.execPath, args: [cli, 'run', dir, '--text-file', textFile, '--layer', '11', '--json', '--full'], env: process.env, samples: [] };
    const peer: Side = torch
      ? { cmd: torch.python, args: [path.join(__dirname, 'torch_gpt2.py'), dir, '--ids', ids.join(','), '--layer', '11', '--out', acts], env: pythonEnv(), samples: [] }
      : { cmd: '', args: [], env: {}, samples: [], failed: 'PyTorch not found' };
    const REPS = 5;
    await alternate([ours, peer], REPS);
    const [a, b] = [times(ours), times(peer)];
    const ratio = a.length && b.length ? median(a) / median(b) : undefined;
    log(`Whole processes, text -> layer 11's MLP hidden activations, a warm-up of each then ${REPS} runs each, alternated. PyTorch is given the token ids from ${idsFrom}: the Python tokenizers package is not installed, so its time has no tokenizing; ours includes it. Its time includes \`import torch\`.`);
    log();
    log('| run | ffn-lens run --text-file F --layer 11 --json --full: median (best), peak RSS | bench/torch_gpt2.py (nanoGPT blocks, forward hook, np.save): median (best), peak RSS | ffn-lens / PyTorch (medians) | target |');
    log('|---|---|---|---|---|');
    const cell = (s: Side): string => (s.failed && !s.samples.length ? `failed: ${s.failed}` : `${timeCell(s)}, ${mib(peakKiB(s))}`);
    log(`| GPT-2 small, 81 tokens | ${cell(ours)} | ${cell(peer)} | ${ratio === undefined ? '-' : `${ratio.toFixed(2)}x`} | <= 0.20x${ratio === undefined ? '' : ratio <= 0.2 ? ' (met)' : ' (NOT met)'} |`);
    const doc = lastJson(peer);
    if (doc) log(`\nPyTorch's own split (last run): import ${fmtTime(Number(doc.import_ms))}, load ${fmtTime(Number(doc.load_ms))}, forward + save ${fmtTime(Number(doc.forward_ms))}; ${doc.threads} intra-op thread(s), BLAS ${JSON.stringify(doc.blas)}`);
    for (const [name, s] of [['ffn-lens', ours], ['PyTorch', peer]] as const) if (s.failed && s.samples.length) log(`\n${name} failed after ${s.samples.length} runs: ${s.failed}`);
    if (ours.samples.length && peer.samples.length && fs.existsSync(acts)) log(`\nLayer 11 activations: ${compareActivations(lastJson(ours), acts)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(textFile, { force: true });
    fs.rmSync(acts, { force: true });
  }
  log();
}

/** The section. `cli` is the bundled src/cli.ts; `work` a temp dir the caller removes at exit. */
export async function modelSection(cli: string, work: string, log: Log): Promise<void> {
  const unhook = stopOnSignals();
  try {
    log('## Whole model: `ffn-lens run` on Hugging Face folders against PyTorch scripts (same run, alternated)');
    log();
    const torch = await findTorch(pythonEnv());
    log('missing' in torch ? `PyTorch: not found (${torch.missing}); the PyTorch columns stay empty` : `PyTorch: ${torch.about}; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for Python only`);
    if (!fs.existsSync(TIME)) log(`${TIME} (GNU time) is not installed: no peak RSS (apt-get install time)`);
    log();
    const peer = 'missing' in torch ? undefined : torch;
    await llamaCase(cli, work, peer, log);
    await gpt2Case(cli, work, peer, log);
    log(`load average after this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes on this machine skew every time; peak RSS is steadier)`);
    log();
  } finally {
    unhook();
  }
}
