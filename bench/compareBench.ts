/**
 * Two checkpoints of one model (issue 14), side by side with PyTorch in one run: a LLaMA-7B-shaped
 * bf16 folder A (3 blocks, 2 shards) and B, its "fine-tune": the same tensors but block 1's MLP,
 * with noise of 1e-2 x the weights' standard deviation (10x and 5x on two units; bench/modelFiles.ts,
 * FineTune). Two cases, each a warm-up then REPS runs of ffn-lens and bench/torch_compare.py alternated:
 *  - `ffn-lens compare A B --weights --json`: peak RSS (target: <= 1 GiB, the budget of the text ->
 *    layer issue, which two 7B checkpoints must meet read a block at a time), time, and whether both
 *    find the same relative errors and most changed units;
 *  - `ffn-lens compare A B --ids <128 ids> --json`: peak RSS, time, and whether both find the same
 *    per-block output and hidden errors, KL(A||B) and next tokens.
 * `npm run bench -- compare` runs this section alone; `npm run bench -- compare --tiny` runs it on
 * small widths (d 256, d_ff 688, 1000 tokens, 1 run each after the warm-up): a smoke test of the
 * code path in seconds, whose figures mean nothing. The folders are written into `work` and
 * removed when the section ends.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { alternate, findTorch, fmtTime, GIB_KIB, lastJson, llamaIds, mib, peakKiB, pythonEnv, stopOnSignals, TIME, timeCell, type Log, type Side } from './modelBench';
import { fineTunedUnits, LLAMA7B, llama7bConfig, llama7bTensors, type LlamaDims, writeModelFolder } from './modelFiles';

const BLOCKS = 3;
const TUNED_BLOCK = 1;
const RELATIVE = 1e-2;
const TOKENS = 128;
const TOP = 10;
const TINY: LlamaDims = { d: 256, f: 688, vocab: 1000, heads: 4 };

/** |a - b| / max(|a|, |b|); 0 when both are 0. */
const relDiff = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
const met = (ok: boolean): string => (ok ? ' (met)' : ' (NOT met)');
const failedCell = (s: Side): string | undefined => (s.failed && !s.samples.length ? (s.cmd ? `failed: ${s.failed}` : s.failed) : undefined);
const rssCell = (s: Side): string => failedCell(s) ?? mib(peakKiB(s));
const wallCell = (s: Side): string => (failedCell(s) ? '-' : timeCell(s));
/** Python's environment (modelBench.ts's), without the bench/__pycache__ that importing torch_llama.py would leave. */
const peerEnv = (): NodeJS.ProcessEnv => ({ ...pythonEnv(), PYTHONDONTWRITEBYTECODE: '1' });
const noPeer = (why: string): Side => ({ cmd: '', args: [], env: {}, samples: [], failed: why });

function failures(sides: [string, Side][], log: Log): void {
  for (const [name, s] of sides) if (s.failed && s.samples.length) log(`\n${name} failed after ${s.samples.length} runs: ${s.failed}`);
}

interface WeightsDoc {
  layers: { layer: number; tensors: { role: string; relativeError: number; changed: { index: number; relative: number }[] }[] }[];
}

/** Table rows: do the two --weights documents agree (most changed unit per changed tensor, relative errors within 1e-4)? */
function weightsAgreement(ours: WeightsDoc, peer: WeightsDoc, expected: number): string[] {
  const key = (l: number, r: string): string => `${l}.${r}`;
  const theirs = new Map(peer.layers.flatMap((l) => l.tensors.map((t) => [key(l.layer, t.role), t] as const)));
  let changed = 0;
  let sameTop1 = 0;
  let sameTopK = 0;
  let unchanged = 0;
  let missing = 0;
  let worst = 0;
  const tuned: string[] = [];
  for (const l of ours.layers) {
    for (const t of l.tensors) {
      const p = theirs.get(key(l.layer, t.role));
      if (!p) {
        missing++;
        continue;
      }
      worst = Math.max(worst, relDiff(t.relativeError, p.relativeError));
      if (t.relativeError === 0 && p.relativeError === 0) {
        unchanged++; // every unit ties at 0: no most changed unit to compare
        continue;
      }
      changed++;
      if (t.changed[0]?.index === p.changed[0]?.index) sameTop1++;
      if (t.changed.length === p.changed.length && t.changed.every((c, i) => c.index === p.changed[i].index)) sameTopK++;
      tuned.push(`block ${l.layer} ${t.role}: ${t.relativeError.toExponential(3)} / ${p.relativeError.toExponential(3)}, unit ${t.changed[0]?.index} (${t.changed[0]?.relative.toFixed(4)}) / ${p.changed[0]?.index} (${p.changed[0]?.relative.toFixed(4)})`);
    }
  }
  const n = ours.layers.reduce((s, l) => s + l.tensors.length, 0);
  const ok = sameTop1 === changed && worst <= 1e-4 && !missing && n === theirs.size;
  return [
    `| tensors compared | ${n} | ${theirs.size} | ${missing ? `${missing} of ours not in PyTorch's` : n === theirs.size ? 'same' : 'DIFFER'} |`,
    `| changed tensors: relative error, most changed unit (its ‖b_i − a_i‖ / ‖a_i‖), ffn-lens / PyTorch | ${tuned.join('; ') || 'none'} | - | the fine-tune's unit is ${expected} |`,
    `| most changed unit the same, where a tensor changed | - | - | ${sameTop1} of ${changed}; whole top-${TOP} in the same order: ${sameTopK} of ${changed} |`,
    `| unchanged tensors (relative error 0 on both sides) | - | - | ${unchanged} |`,
    `| largest relative difference of a relative error | - | - | ${worst.toExponential(2)} (within 1e-4: ${worst <= 1e-4 ? 'yes' : 'NO'}) |`,
    `| agreement | - | - | ${ok ? 'agree' : 'DIFFER'} |`,
  ];
}

async function weightsCase(cli: string, a: string, b: string, f: number, torch: { python: string } | undefined, reps: number, log: Log): Promise<void> {
  const ours: Side = { cmd: process.execPath, args: [cli, 'compare', a, b, '--weights', '--top', String(TOP), '--json'], env: process.env, samples: [] };
  const peer: Side = torch
    ? { cmd: torch.python, args: [path.join(__dirname, 'torch_compare.py'), a, b, '--weights', '--top', String(TOP)], env: peerEnv(), samples: [] }
    : noPeer('PyTorch not found');
  await alternate([ours, peer], reps);
  log(`### Weights only: \`ffn-lens compare A B --weights --top ${TOP} --json\``);
  log();
  log(`Against \`bench/torch_compare.py A B --weights\` (both checkpoints memory-mapped as bench/torch_llama.py maps them, one matrix of each widened to float32 at a time, sums in float64). A warm-up of each, then ${reps} run(s) each, alternated. Peak RSS: the largest of all runs (GNU time %M).`);
  log();
  log('| measure | ffn-lens compare --weights | PyTorch script | target |');
  log('|---|---|---|---|');
  const rss = peakKiB(ours);
  log(`| peak RSS | ${rssCell(ours)} | ${rssCell(peer)} | ffn-lens <= 1024 MiB${rss !== undefined ? met(rss <= GIB_KIB) : ''} |`);
  log(`| wall time, spawn to exit: median (best) | ${wallCell(ours)} | ${wallCell(peer)} | - |`);
  const doc = lastJson(peer);
  if (doc) log(`| PyTorch's own split (last run) | - | import ${fmtTime(Number(doc.import_ms))}, open + compare ${fmtTime(Number(doc.total_ms))} | - |`);
  const [x, y] = [lastJson(ours) as WeightsDoc | undefined, doc as WeightsDoc | undefined];
  if (x?.layers && y?.layers) for (const row of weightsAgreement(x, y, fineTunedUnits(f)[0])) log(row);
  else if (ours.samples.length) log(`| agreement | ${x?.layers ? '-' : 'no layers in the JSON'} | ${y?.layers ? '-' : 'no JSON'} | not compared |`);
  failures([['ffn-lens', ours], ['PyTorch', peer]], log);
  log();
}

interface IdsDoc {
  layers: { layer: number; outputError: { mean: number; max: number }; hiddenError: { mean: number; max: number } }[];
  kl: number;
  nextA: ({ id: number } | number)[];
  nextB: ({ id: number } | number)[];
}

/** Table rows: per block, output and hidden error means side by side (agree within 1e-3 relative), then KL and next tokens. */
function idsAgreement(ours: IdsDoc, peer: IdsDoc): string[] {
  const rows: string[] = [];
  const theirs = new Map(peer.layers.map((l) => [l.layer, l]));
  const fmt = (v: number): string => (v === 0 ? '0' : v.toExponential(4));
  let ok = true;
  for (const l of ours.layers) {
    const p = theirs.get(l.layer);
    if (!p) {
      rows.push(`| block ${l.layer} | ${fmt(l.outputError.mean)} | not in PyTorch's output | DIFFER |`);
      ok = false;
      continue;
    }
    const [o, h] = [relDiff(l.outputError.mean, p.outputError.mean), relDiff(l.hiddenError.mean, p.hiddenError.mean)];
    const good = o <= 1e-3;
    ok &&= good;
    rows.push(
      `| block ${l.layer}${l.layer === TUNED_BLOCK ? ' (fine-tuned)' : ''}: outputError mean / max; hiddenError mean / max | ${fmt(l.outputError.mean)} / ${fmt(l.outputError.max)}; ${fmt(l.hiddenError.mean)} / ${fmt(l.hiddenError.max)} | ${fmt(p.outputError.mean)} / ${fmt(p.outputError.max)}; ${fmt(p.hiddenError.mean)} / ${fmt(p.hiddenError.max)} | means differ by ${o.toExponential(1)} (output), ${h.toExponential(1)} (hidden): ${good ? 'agree' : 'DIFFER'} |`,
    );
  }
  const k = relDiff(ours.kl, peer.kl);
  ok &&= k <= 1e-3 && ours.layers.length === peer.layers.length;
  rows.push(`| KL(A‖B), nats, averaged over ${TOKENS} positions | ${ours.kl.toExponential(4)} | ${peer.kl.toExponential(4)} | differ by ${k.toExponential(1)} relative: ${k <= 1e-3 ? 'agree' : 'DIFFER'} |`);
  const ids = (list: ({ id: number } | number)[]): number[] => list.map((t) => (typeof t === 'number' ? t : t.id));
  const [a, b, pa, pb] = [ids(ours.nextA), ids(ours.nextB), ids(peer.nextA), ids(peer.nextB)];
  rows.push(`| top-5 next tokens after the last position, A; B | ${a.join(', ')}; ${b.join(', ')} | ${pa.join(', ')}; ${pb.join(', ')} | ${a.join() === pa.join() && b.join() === pb.join() ? 'same' : 'DIFFER'} |`);
  rows.push(`| agreement (every block's outputError.mean and kl within 1e-3 relative) | - | - | ${ok ? 'agree' : 'DIFFER'} |`);
  return rows;
}

async function idsCase(cli: string, a: string, b: string, vocab: number, torch: { python: string } | undefined, reps: number, log: Log): Promise<void> {
  const ids = llamaIds(TOKENS, vocab).join(',');
  const ours: Side = { cmd: process.execPath, args: [cli, 'compare', a, b, '--ids', ids, '--json'], env: process.env, samples: [] };
  const peer: Side = torch ? { cmd: torch.python, args: [path.join(__dirname, 'torch_compare.py'), a, b, '--ids', ids], env: peerEnv(), samples: [] } : noPeer('PyTorch not found');
  await alternate([ours, peer], reps);
  log(`### On tokens: \`ffn-lens compare A B --ids <${TOKENS} ids> --json\` (every block)`);
  log();
  log(`Against \`bench/torch_compare.py A B --ids ...\`: torch_llama.py's modules (meta-device init, weights loaded as it loads them), A then B, one model in memory at a time; forward hooks on each block's mlp (its output) and down_proj (its input, silu(gate)·up); lm_head on every position; errors and KL in float64. A warm-up of each, then ${reps} run(s) each, alternated. Peak RSS: the largest of all runs (GNU time %M).`);
  log();
  log('| measure | ffn-lens compare --ids | PyTorch script | agreement / target |');
  log('|---|---|---|---|');
  const rss = peakKiB(ours);
  log(`| peak RSS | ${rssCell(ours)} | ${rssCell(peer)} | -${rss !== undefined ? ` (within the text → layer budget of 1024 MiB: ${rss <= GIB_KIB ? 'yes' : 'no'})` : ''} |`);
  log(`| wall time, spawn to exit: median (best) | ${wallCell(ours)} | ${wallCell(peer)} | - |`);
  const doc = lastJson(peer);
  if (doc) log(`| PyTorch's own split (last run) | - | import ${fmtTime(Number(doc.import_ms))}, load A + B ${fmtTime(Number(doc.load_ms))}, forward A + B ${fmtTime(Number(doc.forward_ms))}, errors + KL ${fmtTime(Number(doc.compare_ms))} | - |`);
  const [x, y] = [lastJson(ours) as IdsDoc | undefined, doc as IdsDoc | undefined];
  if (x?.layers && y?.layers) for (const row of idsAgreement(x, y)) log(row);
  else if (ours.samples.length) log(`| agreement | ${x?.layers ? '-' : 'no layers in the JSON'} | ${y?.layers ? '-' : 'no JSON'} | not compared |`);
  failures([['ffn-lens', ours], ['PyTorch', peer]], log);
  if (doc) log(`\nPyTorch: ${doc.threads} intra-op thread(s) (its default here), BLAS ${JSON.stringify(doc.blas)}`);
  log();
}

/**
 * The section. `cli` is the bundled src/cli.ts; `work` a temp dir the caller removes at exit.
 * `tiny`: small widths and one run each, to check the code path end to end in seconds.
 */
export async function compareSection(cli: string, work: string, log: Log, opts: { tiny?: boolean } = {}): Promise<void> {
  const unhook = stopOnSignals();
  const dims = opts.tiny ? TINY : LLAMA7B;
  const reps = opts.tiny ? 1 : 3;
  const a = path.join(work, 'compare-a');
  const b = path.join(work, 'compare-b');
  try {
    log(`## Two checkpoints: \`ffn-lens compare\` against a PyTorch script (issue 14; same run, alternated)${opts.tiny ? ' -- TINY smoke run (--tiny): small widths, figures mean nothing' : ''}`);
    log();
    log(`load average at the start of this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const torch = await findTorch(pythonEnv());
    log('missing' in torch ? `PyTorch: not found (${torch.missing}); the PyTorch columns stay empty` : `PyTorch: ${torch.about}; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for Python only`);
    if (!fs.existsSync(TIME)) log(`${TIME} (GNU time) is not installed: no peak RSS (apt-get install time)`);
    const t0 = performance.now();
    const size = await writeModelFolder(a, llama7bConfig(BLOCKS, dims), llama7bTensors(BLOCKS, { dims }), 2);
    await writeModelFolder(b, llama7bConfig(BLOCKS, dims), llama7bTensors(BLOCKS, { dims, fineTune: { block: TUNED_BLOCK, relative: RELATIVE, seed: 1 } }), 2);
    const [u0, u1] = fineTunedUnits(dims.f);
    const shape = opts.tiny ? `d ${dims.d}, d_ff ${dims.f}, vocabulary ${dims.vocab}, ${dims.heads} heads` : 'LLaMA-7B-shaped';
    log(
      `Models: A, ${shape}, ${BLOCKS} blocks, bf16, untied lm_head, 2 shards + index (${(size / 1e9).toFixed(2)} GB each); B, the same tensors but block ${TUNED_BLOCK}'s gate, up and down with uniform noise of ${RELATIVE} x the weights' standard deviation added, 10x on unit ${u0} and 5x on unit ${u1} (rows of gate and up, columns of down). Both written in ${((performance.now() - t0) / 1000).toFixed(1)} s, in the page cache.`,
    );
    log();
    const peer = 'missing' in torch ? undefined : torch;
    await weightsCase(cli, a, b, dims.f, peer, reps, log);
    await idsCase(cli, a, b, dims.vocab, peer, reps, log);
    log(`load average after this section: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes on this machine skew every time; peak RSS is steadier)`);
    log();
  } finally {
    fs.rmSync(a, { recursive: true, force: true });
    fs.rmSync(b, { recursive: true, force: true });
    unhook();
  }
}
