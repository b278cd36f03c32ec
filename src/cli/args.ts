/**
 * Command-line parsing for `ffn-lens`. Every mistake is an FfnLensError of kind `usage` (exit 2),
 * so the entry point prints one `error:` line and never a stack trace.
 */
import { ACTIVATIONS, type ActivationName } from '../core/types';
import { parseActivation } from '../core/activations';
import { FfnLensError } from '../core/errors';
import type { InputSpec } from '../protocol/run';

/** `inspect <file>`: list tensors with statistics, and the FFN layers found. */
export interface InspectCommand {
  command: 'inspect';
  file: string;
  json: boolean;
  /** `auto`: statistics unless the tensors exceed the stats limit; `on` (--stats) always; `off` (--no-stats) never. */
  stats: 'auto' | 'on' | 'off';
}

/** `run <file>`: run one FFN layer on per-token inputs. */
export interface RunCommand {
  command: 'run';
  file: string;
  json: boolean;
  full: boolean;
  layer?: string;
  activation?: ActivationName;
  inputs: InputSpec;
  topK?: number;
  threshold?: number;
  /** Which compute path: `auto` (WebAssembly SIMD when this Node has it, else TypeScript), `wasm` or `ts`. */
  engine: EngineChoice;
}

/** `--engine` values. */
export const ENGINE_CHOICES = ['auto', 'wasm', 'ts'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

export type CliCommand = InspectCommand | RunCommand | { command: 'help' } | { command: 'version' };

/** Default seed for `--random T` without `--seed`. */
export const DEFAULT_SEED = 0;

const usage = (message: string, file?: string): FfnLensError => new FfnLensError(message, file, 'usage');

type FlagKind = 'boolean' | 'value';
const RUN_FLAGS: Record<string, FlagKind> = {
  '--json': 'boolean',
  '--full': 'boolean',
  '--layer': 'value',
  '--activation': 'value',
  '--inputs': 'value',
  '--random': 'value',
  '--seed': 'value',
  '--top-k': 'value',
  '--threshold': 'value',
  '--engine': 'value',
};
const INSPECT_FLAGS: Record<string, FlagKind> = { '--json': 'boolean', '--stats': 'boolean', '--no-stats': 'boolean' };

/** Parses `argv` (without `node` and the script). Throws FfnLensError kind `usage` on any mistake. */
export function parseArgs(argv: readonly string[]): CliCommand {
  if (argv.length === 0) throw usage('missing command (try --help)');
  if (argv.includes('--help') || argv.includes('-h')) return { command: 'help' };
  if (argv.includes('--version')) return { command: 'version' };
  const [command, ...rest] = argv;
  if (command === 'inspect') {
    const { file, flags } = splitArgs('inspect', rest, INSPECT_FLAGS);
    if (flags.has('--stats') && flags.has('--no-stats')) throw usage('--stats and --no-stats cannot be used together', file);
    const stats = flags.has('--stats') ? 'on' : flags.has('--no-stats') ? 'off' : 'auto';
    return { command: 'inspect', file, json: flags.has('--json'), stats };
  }
  if (command === 'run') return parseRun(rest);
  if (command.startsWith('-')) throw usage(`unknown option ${command}: the command comes first (try --help)`);
  throw usage(`unknown command "${command}" (commands: inspect, run)`);
}

function parseRun(rest: readonly string[]): RunCommand {
  const { file, flags } = splitArgs('run', rest, RUN_FLAGS);
  const usage = (message: string): FfnLensError => new FfnLensError(message, file, 'usage');
  const cmd: RunCommand = { command: 'run', file, json: flags.has('--json'), full: flags.has('--full'), inputs: { kind: 'file' }, engine: 'auto' };
  const engine = flags.get('--engine');
  if (engine !== undefined) {
    if (!(ENGINE_CHOICES as readonly string[]).includes(engine)) throw usage(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got "${engine}"`);
    cmd.engine = engine as EngineChoice;
  }
  const layer = flags.get('--layer');
  if (layer !== undefined) cmd.layer = layer;
  const activation = flags.get('--activation');
  if (activation !== undefined) cmd.activation = parseActivationName(activation, file);
  const inputsFile = flags.get('--inputs');
  const random = flags.get('--random');
  const seed = flags.get('--seed');
  if (inputsFile !== undefined && random !== undefined) throw usage('--inputs and --random cannot be used together');
  if (seed !== undefined && random === undefined) throw usage('--seed needs --random T');
  if (inputsFile !== undefined) cmd.inputs = { kind: 'inputsFile', path: inputsFile };
  if (random !== undefined) {
    const tokens = parseInteger('--random', random, 1, file);
    cmd.inputs = { kind: 'random', tokens, seed: seed === undefined ? DEFAULT_SEED : parseInteger('--seed', seed, 0, file) };
  }
  const topK = flags.get('--top-k');
  if (topK !== undefined) cmd.topK = parseInteger('--top-k', topK, 0, file);
  const threshold = flags.get('--threshold');
  if (threshold !== undefined) {
    const x = Number(threshold);
    if (threshold.trim() === '' || !Number.isFinite(x) || x < 0) throw usage(`--threshold needs a number >= 0, got "${threshold}"`);
    cmd.threshold = x;
  }
  return cmd;
}

/**
 * Separates the one positional file argument from `--flag [value]` pairs (also `--flag=value`).
 * The first mistake is reported after the scan, so its message can name the file.
 */
function splitArgs(command: string, args: readonly string[], known: Record<string, FlagKind>): { file: string; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  let problem: string | undefined;
  const usage = (message: string): void => void (problem ??= message);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = known[name];
    if (!kind) usage(`unknown option ${name} for ${command} (try --help)`);
    else if (flags.has(name)) usage(`${name} given twice`);
    else if (kind === 'boolean') {
      if (eq > 0) usage(`${name} takes no value`);
      flags.set(name, '');
    } else if (eq > 0) {
      flags.set(name, arg.slice(eq + 1));
    } else if (i + 1 >= args.length) {
      usage(`${name} needs a value`);
    } else {
      flags.set(name, args[++i]);
    }
  }
  if (positional.length > 1) usage(`${command}: expected one file, got ${positional.length}: ${positional.join(' ')}`);
  if (positional.length === 0) throw new FfnLensError(problem ?? `${command}: missing <file> argument`, undefined, 'usage');
  if (problem) throw new FfnLensError(problem, positional[0], 'usage');
  return { file: positional[0], flags };
}

function parseInteger(flag: string, text: string, min: number, file: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw usage(`${flag} needs an integer >= ${min}, got "${text}"`, file);
  return n;
}

/** Validates an `--activation` name (framework spellings such as `gelu_new` or `swish` too), listing the valid ones when it is not one. */
export function parseActivationName(text: string, file?: string): ActivationName {
  const name = parseActivation(text);
  if (!name) throw usage(`unknown activation "${text}" (valid: ${ACTIVATIONS.join(', ')})`, file);
  return name;
}
