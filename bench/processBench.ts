/**
 * Whole processes, side by side (issue 10): `ffn-lens run` on a layer file against a numpy script
 * that reads the same layer and runs the same FFN (bench/numpy_run.py), alternated in one run so
 * both see the same machine. Wall time from spawn to exit and peak RSS (GNU time, when present).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { gpt2MlpTensors, llamaMlpTensors, writeSafetensors } from './files';
import { fmtMs, median } from './shapes';

interface ProcessCase {
  name: string;
  file: string;
  tokens: number;
  ours: string[];
  numpy: string[];
}

interface Sample {
  ms: number;
  rssKiB?: number;
}

const TIME = '/usr/bin/time';
const REPS = 5;

/** Runs a command once, timed; peak RSS through GNU time when it is installed. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Sample {
  const withTime = fs.existsSync(TIME);
  const t0 = performance.now();
  const r = withTime
    ? spawnSync(TIME, ['-f', 'RSS %M', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  const rss = /RSS (\d+)\s*$/.exec(r.stderr ?? '');
  return { ms, rssKiB: rss ? Number(rss[1]) : undefined };
}

/** numpy's environment: OpenBLAS picks its own kernel (see bench/numpy.ts). */
function numpyEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** What numpy and its BLAS are, from one run of the peer script. */
function numpyInfo(c: ProcessCase, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('python3', c.numpy, { env, encoding: 'utf8' });
  if (r.status !== 0) return `unavailable (${(r.stderr || String(r.error)).trim().split('\n').pop()})`;
  const doc = JSON.parse(r.stdout) as { numpy: string; blas: Record<string, unknown> };
  return `numpy ${doc.numpy}, BLAS ${JSON.stringify(doc.blas)}`;
}

/** The section: both shapes, REPS alternated runs of each side after one warm-up of each. */
export function processSection(cli: string, work: string, log: (s?: string) => void): void {
  const gpt2 = path.join(work, 'gpt2-mlp.safetensors');
  const llama = path.join(work, 'llama7b-mlp-bf16.safetensors');
  writeSafetensors(gpt2, gpt2MlpTensors());
  writeSafetensors(llama, llamaMlpTensors());
  const script = path.join(__dirname, 'numpy_run.py');
  const cases: ProcessCase[] = [
    {
      name: 'GPT-2 small MLP, f32, gelu_tanh, 128 tokens',
      file: gpt2,
      tokens: 128,
      ours: [cli, 'run', gpt2, '--random', '128'],
      numpy: [script, gpt2, '128', '--w1', 'h.0.mlp.c_fc.weight', '--b1', 'h.0.mlp.c_fc.bias', '--w2', 'h.0.mlp.c_proj.weight', '--b2', 'h.0.mlp.c_proj.bias', '--act', 'gelu_tanh'],
    },
    {
      name: 'LLaMA-7B MLP, bf16, swiglu, 32 tokens',
      file: llama,
      tokens: 32,
      ours: [cli, 'run', llama, '--random', '32'],
      numpy: [script, llama, '32', '--w1', 'model.layers.0.mlp.up_proj.weight', '--gate', 'model.layers.0.mlp.gate_proj.weight', '--w2', 'model.layers.0.mlp.down_proj.weight', '--act', 'swiglu', '--layout', 'out_in'],
    },
  ];
  const env = numpyEnv();
  log(`## Whole process: \`ffn-lens run\` against a numpy script on the same layer file (alternated, ${REPS} runs each after a warm-up; files in the page cache)`);
  log();
  log(numpyInfo(cases[0], env));
  log();
  log('| layer | ffn-lens run (auto engine): median (best), peak RSS | numpy script: median (best), peak RSS | ffn-lens / numpy (medians) | target |');
  log('|---|---|---|---|---|');
  for (const c of cases) {
    let ours: Sample[] = [];
    let theirs: Sample[] = [];
    try {
      timed(process.execPath, c.ours, process.env);
      timed('python3', c.numpy, env);
      for (let i = 0; i < REPS; i++) {
        ours.push(timed(process.execPath, c.ours, process.env));
        theirs.push(timed('python3', c.numpy, env));
      }
    } catch (e) {
      log(`| ${c.name} | failed: ${(e as Error).message} | | | |`);
      ours = [];
      theirs = [];
      continue;
    }
    const cell = (s: Sample[]): string => {
      const ms = s.map((x) => x.ms);
      const rss = s.map((x) => x.rssKiB).filter((x): x is number => x !== undefined);
      return `${fmtMs(median(ms))} (${fmtMs(Math.min(...ms))}), ${rss.length ? `${(Math.max(...rss) / 1024).toFixed(0)} MiB` : 'RSS n/a'}`;
    };
    const ratio = median(ours.map((x) => x.ms)) / median(theirs.map((x) => x.ms));
    log(`| ${c.name} | ${cell(ours)} | ${cell(theirs)} | ${ratio.toFixed(2)}x | <= 1.0x |`);
  }
  fs.rmSync(gpt2, { force: true });
  fs.rmSync(llama, { force: true });
  log();
}
