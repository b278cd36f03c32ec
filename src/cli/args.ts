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

/** `run <model> --text S | --text-file F | --ids ... --layer L`: a whole model on real text. */
export interface RunModelCommand {
  command: 'runModel';
  model: string;
  json: boolean;
  full: boolean;
  input: TextOrIds;
  layer: number;
  predict?: number;
  ablate?: number[];
  truncate: boolean;
  topK?: number;
  threshold?: number;
  engine: EngineChoice;
  /** A folder to write the traced block's activations into as .npy files. */
  npy?: string;
}

/** `tokenize <model> --text S | --text-file F`. */
export interface TokenizeCommand {
  command: 'tokenize';
  model: string;
  json: boolean;
  input: Exclude<TextOrIds, { kind: 'ids' }>;
}

/** Text given inline or in a file (read by the command), or token ids. */
export type TextOrIds = { kind: 'text'; text: string } | { kind: 'textFile'; path: string } | { kind: 'ids'; ids: number[] };

/** `neuron <model> --layer L --neuron I`: what a unit writes into the vocabulary and reads from it. */
export interface NeuronCommand {
  command: 'neuron';
  model: string;
  layer: number;
  neuron: number;
  top: number;
  raw: boolean;
  json: boolean;
  csv: boolean;
}

/** `scan <model> --layer L --corpus DIR|FILE...`: where units fire hardest across a corpus. */
export interface ScanCommand {
  command: 'scan';
  model: string;
  layer: number;
  corpus: string[];
  ctx: number;
  top: number;
  /** Undefined: every unit (--all, the default). */
  neurons?: number[];
  threshold?: number;
  rank: 'signed' | 'abs';
  json: boolean;
  csv: boolean;
}

/** `search <model> --token T`: the units that promote a token most (and, from a scan, fire on it). */
export interface SearchCommand {
  command: 'search';
  model: string;
  token: string;
  /** Undefined: every block (--all-layers, the default). */
  layer?: number;
  top: number;
  scan?: string;
  json: boolean;
}

/** `score <model> --text S | --text-file F`: the mean next-token loss over windows of the text. */
export interface ScoreCommand {
  command: 'score';
  model: string;
  input: Exclude<TextOrIds, { kind: 'ids' }>;
  /** Window length; undefined: the model's context. */
  ctx?: number;
  json: boolean;
  engine: EngineChoice;
}

/** `compare <modelA> <modelB> (--text S | --text-file F | --ids ... | --weights)`: two checkpoints' FFNs side by side. */
export interface CompareCommand {
  command: 'compare';
  modelA: string;
  modelB: string;
  /** Undefined with --weights. */
  input?: TextOrIds;
  weights: boolean;
  /** Undefined: every block. */
  layers?: number[];
  top?: number;
  truncate: boolean;
  threshold?: number;
  json: boolean;
  engine: EngineChoice;
}

export type CliCommand =
  | CompareCommand
  | InspectCommand
  | RunCommand
  | RunModelCommand
  | TokenizeCommand
  | NeuronCommand
  | ScanCommand
  | SearchCommand
  | ScoreCommand
  | { command: 'help' }
  | { command: 'version' };

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
  '--text': 'value',
  '--text-file': 'value',
  '--ids': 'value',
  '--predict': 'value',
  '--ablate': 'value',
  '--truncate': 'boolean',
  '--npy': 'value',
};
const TOKENIZE_FLAGS: Record<string, FlagKind> = { '--json': 'boolean', '--text': 'value', '--text-file': 'value' };
/** Flags of a single-layer run that mean nothing for a whole model, and those only a model run takes. */
const LAYER_ONLY = ['--inputs', '--random', '--seed', '--activation'];
const MODEL_ONLY = ['--predict', '--ablate', '--truncate', '--npy'];
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
  if (command === 'tokenize') {
    const { file, flags } = splitArgs('tokenize', rest, TOKENIZE_FLAGS);
    const input = textOrIds(flags, file, false);
    if (!input) throw usage('tokenize needs --text S or --text-file F', file);
    return { command: 'tokenize', model: file, json: flags.has('--json'), input: input as TokenizeCommand['input'] };
  }
  if (command === 'neuron') return parseNeuron(rest);
  if (command === 'scan') return parseScan(rest);
  if (command === 'search') return parseSearch(rest);
  if (command === 'score') return parseScore(rest);
  if (command === 'compare') return parseCompare(rest);
  if (command.startsWith('-')) throw usage(`unknown option ${command}: the command comes first (try --help)`);
  throw usage(`unknown command "${command}" (commands: inspect, run, tokenize, neuron, scan, search, score, compare)`);
}

/** --text, --text-file or (with `ids`) --ids: at most one; undefined when none is given. */
function textOrIds(flags: Map<string, string>, file: string, ids: boolean): TextOrIds | undefined {
  const given = ['--text', '--text-file', ...(ids ? ['--ids'] : [])].filter((f) => flags.has(f));
  if (given.length > 1) throw usage(`${given.join(' and ')} cannot be used together`, file);
  const text = flags.get('--text');
  if (text !== undefined) return { kind: 'text', text };
  const path = flags.get('--text-file');
  if (path !== undefined) return { kind: 'textFile', path };
  const list = flags.get('--ids');
  if (list !== undefined) return { kind: 'ids', ids: integerList('--ids', list, file) };
  return undefined;
}

/** `1,2,3` (spaces allowed) as whole numbers >= 0. */
function integerList(flag: string, text: string, file: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)))) {
    throw usage(`${flag} needs whole numbers separated by commas (e.g. 15496,995), got "${text}"`, file);
  }
  return parts.map(Number);
}

function parseRunModel(file: string, flags: Map<string, string>, input: TextOrIds): RunModelCommand {
  const misplaced = LAYER_ONLY.find((f) => flags.has(f));
  if (misplaced) throw usage(`${misplaced} is for single-layer runs; a model run takes its input from --text, --text-file or --ids`, file);
  const layer = flags.get('--layer');
  if (layer === undefined) throw usage('a model run needs --layer L (the block whose FFN to show, from 0)', file);
  const cmd: RunModelCommand = {
    command: 'runModel',
    model: file,
    json: flags.has('--json'),
    full: flags.has('--full'),
    input,
    layer: parseInteger('--layer', layer, 0, file),
    truncate: flags.has('--truncate'),
    engine: 'auto',
  };
  const predict = flags.get('--predict');
  if (predict !== undefined) cmd.predict = parseInteger('--predict', predict, 1, file);
  const ablate = flags.get('--ablate');
  if (ablate !== undefined) cmd.ablate = integerList('--ablate', ablate, file);
  const npy = flags.get('--npy');
  if (npy !== undefined) cmd.npy = npy;
  return cmd;
}

function parseRun(rest: readonly string[]): RunCommand | RunModelCommand {
  const { file, flags } = splitArgs('run', rest, RUN_FLAGS);
  const input = textOrIds(flags, file, true);
  if (input) {
    const cmd = parseRunModel(file, flags, input);
    const common = parseRunCommon(file, flags);
    return { ...cmd, ...common };
  }
  const modelOnly = MODEL_ONLY.find((f) => flags.has(f));
  if (modelOnly) throw usage(`${modelOnly} needs a model run: give the text with --text, --text-file or --ids`, file);
  return { ...parseLayerRun(file, flags), ...parseRunCommon(file, flags) };
}

/** --top-k, --threshold and --engine, shared by both kinds of run. */
function parseRunCommon(file: string, flags: Map<string, string>): { topK?: number; threshold?: number; engine: EngineChoice } {
  const out: { topK?: number; threshold?: number; engine: EngineChoice } = { engine: 'auto' };
  const engine = flags.get('--engine');
  if (engine !== undefined) {
    if (!(ENGINE_CHOICES as readonly string[]).includes(engine)) throw usage(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got "${engine}"`, file);
    out.engine = engine as EngineChoice;
  }
  const topK = flags.get('--top-k');
  if (topK !== undefined) out.topK = parseInteger('--top-k', topK, 0, file);
  const threshold = parseThreshold(flags, file);
  if (threshold !== undefined) out.threshold = threshold;
  return out;
}

function parseLayerRun(file: string, flags: Map<string, string>): RunCommand {
  const usage = (message: string): FfnLensError => new FfnLensError(message, file, 'usage');
  const cmd: RunCommand = { command: 'run', file, json: flags.has('--json'), full: flags.has('--full'), inputs: { kind: 'file' }, engine: 'auto' };
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
  return cmd;
}

/**
 * Separates the one positional file argument from `--flag [value]` pairs (also `--flag=value`).
 * The first mistake is reported after the scan, so its message can name the file.
 */
function splitArgs(command: string, args: readonly string[], known: Record<string, FlagKind>, count = 1): { file: string; files: string[]; flags: Map<string, string> } {
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
  if (count === 1 && positional.length > 1) usage(`${command}: expected one file, got ${positional.length}: ${positional.join(' ')}`);
  if (count > 1 && positional.length !== count && positional.length > 0) usage(`${command}: expected ${count} models, got ${positional.length}: ${positional.join(' ')}`);
  if (positional.length === 0) throw new FfnLensError(problem ?? `${command}: missing <${count === 1 ? 'file' : 'model'}> argument${count === 1 ? '' : 's'}`, undefined, 'usage');
  if (problem) throw new FfnLensError(problem, positional[0], 'usage');
  return { file: positional[0], files: positional, flags };
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

const NEURON_FLAGS: Record<string, FlagKind> = { '--layer': 'value', '--neuron': 'value', '--top': 'value', '--raw': 'boolean', '--json': 'boolean', '--csv': 'boolean' };
const SCAN_FLAGS: Record<string, FlagKind> = {
  '--layer': 'value',
  '--ctx': 'value',
  '--top': 'value',
  '--neurons': 'value',
  '--all': 'boolean',
  '--threshold': 'value',
  '--rank': 'value',
  '--json': 'boolean',
  '--csv': 'boolean',
};

/** --json and --csv: one document on stdout, never both. */
function outputFormat(flags: Map<string, string>, file: string): { json: boolean; csv: boolean } {
  if (flags.has('--json') && flags.has('--csv')) throw usage('--json and --csv cannot be used together', file);
  return { json: flags.has('--json'), csv: flags.has('--csv') };
}

/** The value of a required integer flag. */
function required(flags: Map<string, string>, flag: string, min: number, file: string): number {
  const v = flags.get(flag);
  if (v === undefined) throw usage(`${flag} is required`, file);
  return parseInteger(flag, v, min, file);
}

function parseNeuron(rest: readonly string[]): NeuronCommand {
  const { file, flags } = splitArgs('neuron', rest, NEURON_FLAGS);
  const top = flags.get('--top');
  return {
    command: 'neuron',
    model: file,
    layer: required(flags, '--layer', 0, file),
    neuron: required(flags, '--neuron', 0, file),
    top: top === undefined ? 10 : parseInteger('--top', top, 1, file),
    raw: flags.has('--raw'),
    ...outputFormat(flags, file),
  };
}

/** `--corpus` takes every argument after it up to the next option. */
function parseScan(rest: readonly string[]): ScanCommand {
  const corpus: string[] = [];
  const others: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--corpus') {
      while (i + 1 < rest.length && !rest[i + 1].startsWith('--')) corpus.push(rest[++i]);
    } else if (rest[i].startsWith('--corpus=')) corpus.push(rest[i].slice('--corpus='.length));
    else others.push(rest[i]);
  }
  const { file, flags } = splitArgs('scan', others, SCAN_FLAGS);
  if (corpus.length === 0) throw usage('scan needs --corpus DIR|FILE... (the texts to scan)', file);
  if (flags.has('--all') && flags.has('--neurons')) throw usage('--neurons and --all cannot be used together', file);
  const cmd: ScanCommand = {
    command: 'scan',
    model: file,
    layer: required(flags, '--layer', 0, file),
    corpus,
    ctx: flags.has('--ctx') ? required(flags, '--ctx', 1, file) : 64,
    top: flags.has('--top') ? required(flags, '--top', 0, file) : 20,
    rank: 'signed',
    ...outputFormat(flags, file),
  };
  const rank = flags.get('--rank');
  if (rank !== undefined) {
    if (rank !== 'signed' && rank !== 'abs') throw usage(`--rank must be signed or abs, got "${rank}"`, file);
    cmd.rank = rank;
  }
  const neurons = flags.get('--neurons');
  if (neurons !== undefined) cmd.neurons = integerList('--neurons', neurons, file);
  const threshold = parseThreshold(flags, file);
  if (threshold !== undefined) cmd.threshold = threshold;
  return cmd;
}

const SEARCH_FLAGS: Record<string, FlagKind> = { '--token': 'value', '--layer': 'value', '--all-layers': 'boolean', '--top': 'value', '--scan': 'value', '--json': 'boolean' };

function parseSearch(rest: readonly string[]): SearchCommand {
  const { file, flags } = splitArgs('search', rest, SEARCH_FLAGS);
  const token = flags.get('--token');
  if (token === undefined || token === '') throw usage('search needs --token T (a token of the model, e.g. "whale")', file);
  if (flags.has('--layer') && flags.has('--all-layers')) throw usage('--layer and --all-layers cannot be used together', file);
  const cmd: SearchCommand = { command: 'search', model: file, token, top: flags.has('--top') ? required(flags, '--top', 1, file) : 10, json: flags.has('--json') };
  if (flags.has('--layer')) cmd.layer = required(flags, '--layer', 0, file);
  const scan = flags.get('--scan');
  if (scan !== undefined) cmd.scan = scan;
  return cmd;
}

const SCORE_FLAGS: Record<string, FlagKind> = { '--text': 'value', '--text-file': 'value', '--ctx': 'value', '--json': 'boolean', '--engine': 'value' };

function parseScore(rest: readonly string[]): ScoreCommand {
  const { file, flags } = splitArgs('score', rest, SCORE_FLAGS);
  const input = textOrIds(flags, file, false);
  if (!input) throw usage('score needs --text S or --text-file F (the text to score)', file);
  const { engine } = parseRunCommon(file, flags);
  const cmd: ScoreCommand = { command: 'score', model: file, input: input as ScoreCommand['input'], json: flags.has('--json'), engine };
  if (flags.has('--ctx')) cmd.ctx = required(flags, '--ctx', 2, file);
  return cmd;
}

const COMPARE_FLAGS: Record<string, FlagKind> = {
  '--text': 'value',
  '--text-file': 'value',
  '--ids': 'value',
  '--weights': 'boolean',
  '--layers': 'value',
  '--top': 'value',
  '--truncate': 'boolean',
  '--threshold': 'value',
  '--json': 'boolean',
  '--engine': 'value',
};

function parseCompare(rest: readonly string[]): CompareCommand {
  const { files, flags } = splitArgs('compare', rest, COMPARE_FLAGS, 2);
  const file = files[1];
  const input = textOrIds(flags, file, true);
  const weights = flags.has('--weights');
  if (weights && input) throw usage('--weights compares the weights alone: give no --text, --text-file or --ids with it', file);
  if (!weights && !input) throw usage('compare needs the text to run (--text S, --text-file F or --ids 1,2,3), or --weights to compare the weights alone', file);
  if (weights) {
    const textOnly = ['--truncate', '--threshold', '--engine'].find((f) => flags.has(f));
    if (textOnly) throw usage(`${textOnly} is for a comparison on text, not --weights`, file);
  }
  const { engine, threshold } = parseRunCommon(file, flags);
  const cmd: CompareCommand = { command: 'compare', modelA: files[0], modelB: files[1], weights, truncate: flags.has('--truncate'), json: flags.has('--json'), engine };
  if (input) cmd.input = input;
  if (threshold !== undefined) cmd.threshold = threshold;
  if (flags.has('--top')) cmd.top = required(flags, '--top', 1, file);
  const layers = flags.get('--layers');
  if (layers !== undefined && layers !== 'all') cmd.layers = integerList('--layers', layers, file);
  return cmd;
}

/** `--threshold X`: a number >= 0, or undefined when not given. */
function parseThreshold(flags: Map<string, string>, file: string): number | undefined {
  const threshold = flags.get('--threshold');
  if (threshold === undefined) return undefined;
  const x = Number(threshold);
  if (threshold.trim() === '' || !Number.isFinite(x) || x < 0) throw usage(`--threshold needs a number >= 0, got "${threshold}"`, file);
  return x;
}
