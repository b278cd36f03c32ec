/**
 * JSON weight files: the hand-written and script-exported format. The whole file is parsed with
 * JSON.parse (fast, and JSON cannot be read by ranges anyway), every tensor is decoded to float32
 * once at open, and the parsed tree is dropped, so a tens-of-MB file costs about its float32 size.
 * Tensors are reported with dtype `F32`, what they are decoded to (JSON has no dtype of its own).
 * No `vscode` import.
 */
import { promises as fs } from 'fs';
import { constants as bufferConstants } from 'buffer';
import { FfnLensError } from '../core/errors';
import { hintsFromConfig } from './configJson';
import { throwIfAborted } from './fileRange';
import { checkTransposable, transpose } from './slices';
import { targetArray, type ReadOptions, type SourceHints, type TensorInfo, type TensorProblem, type TensorSource } from './source';

/** Top-level keys that describe the file instead of holding tensors. */
export const JSON_RESERVED_KEYS: readonly string[] = [
  'activation', 'layout', 'tokens', 'inputs', 'name', 'description', 'model_type', 'architecture', 'config', 'metadata',
];
const RESERVED = new Set(JSON_RESERVED_KEYS);

/** Strings that stand for non-finite numbers inside a tensor (exports write them; JSON cannot). */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A decoded tensor: row-major float32 data and its shape. */
export interface JsonTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Decodes one JSON tensor: a nested number array (rank >= 1, not ragged) or
 * `{ "shape": [...], "data": [...], "dtype"?: ... }` with data flat or nested. `"NaN"`,
 * `"Infinity"` and `"-Infinity"` strings are numbers; anything else that is not a number is an
 * error naming the tensor and the element.
 */
export function tensorFromJsonValue(value: unknown, name: string, file: string): JsonTensor {
  if (Array.isArray(value)) return decodeNested(value, name, file);
  if (isTensorObject(value)) {
    const decoded = decodeNested(value.data, name, file);
    if (value.shape === undefined) return decoded;
    const data = decoded.data;
    const shape = checkShape(value.shape, name, file);
    const need = shape.reduce((a, b) => a * b, 1);
    if (data.length !== need) {
      throw new FfnLensError(`${name}: data has ${data.length} numbers but shape [${shape.join(', ')}] needs ${need}`, file);
    }
    return { shape, data };
  }
  throw new FfnLensError(`${name} is ${describeValue(value)}, not a number array or a {"shape", "data"} object`, file);
}

/** A TensorSource over JSON text already in memory (`path` is only used in messages). */
export function jsonSourceFromText(text: string, path: string): TensorSource {
  const root = parseJson(text, path);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new FfnLensError(
      `expected a JSON object at the top level (tensors by name, e.g. {"W1": [[...]], "b1": [...]}), found ${describeValue(root)}`,
      path,
    );
  }
  const c: Collected = { tensors: new Map(), problems: [], metadata: {}, hints: {}, layerActivations: {}, file: path };
  walk(root as Record<string, unknown>, '', c);
  if (c.tensors.size === 0 && c.problems.length === 0) {
    const keys = Object.keys(root);
    const looksLikeConfig = 'model_type' in root || 'architectures' in root;
    throw new FfnLensError(
      'no tensors found: expected number arrays or {"shape", "data"} objects' +
        (looksLikeConfig ? '; this looks like a Hugging Face config.json, open the weight file beside it' : '') +
        ` (top-level keys: ${keys.length ? keys.slice(0, 12).join(', ') + (keys.length > 12 ? ', ...' : '') : 'none'})`,
      path,
    );
  }
  if (Object.keys(c.layerActivations).length) c.hints.layerActivations = c.layerActivations;
  // By name, so the list never depends on the order of the file's keys.
  const problems = c.problems.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return new JsonSource(path, c.tensors, c.metadata, c.hints, problems);
}

/** Reads and opens a JSON weight file. */
export async function openJsonSource(path: string): Promise<TensorSource> {
  let text: string;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new FfnLensError('is not a regular file', path);
    if (stat.size > bufferConstants.MAX_STRING_LENGTH) {
      throw new FfnLensError(
        `${stat.size} bytes is more than a JSON weight file can be (${bufferConstants.MAX_STRING_LENGTH}); convert it to safetensors`,
        path,
        'budget',
      );
    }
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof FfnLensError) throw e;
    throw new FfnLensError(`cannot read the file (${fsReason(e)})`, path);
  }
  return jsonSourceFromText(text, path);
}

class JsonSource implements TensorSource {
  readonly format = 'json' as const;
  readonly tensors: readonly TensorInfo[];

  constructor(
    readonly path: string,
    private readonly data: Map<string, JsonTensor>,
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly hints: SourceHints,
    readonly problems: readonly TensorProblem[],
  ) {
    this.tensors = [...data].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, byteLength: t.data.byteLength }));
  }

  /** A fresh copy each time (into `options.into`'s array when given), so callers own what they get. */
  async read(name: string, options?: ReadOptions): Promise<Float32Array> {
    throwIfAborted(options?.signal, this.path);
    const t = this.data.get(name);
    if (!t) throw new FfnLensError(`no tensor named "${name}"`, this.path);
    if (!options?.into) return t.data.slice();
    const out = targetArray(options, t.data.length);
    out.set(t.data);
    return out;
  }

  /** The values are in memory already: transposed straight into the output, no copy in between. */
  async readTransposed(name: string, options?: ReadOptions): Promise<Float32Array> {
    throwIfAborted(options?.signal, this.path);
    const t = this.data.get(name);
    if (!t) throw new FfnLensError(`no tensor named "${name}"`, this.path);
    checkTransposable(t.shape, `tensor "${name}"`, this.path);
    return transpose(t.data, t.shape[0], t.shape[1], targetArray(options, t.data.length));
  }

  async close(): Promise<void> {
    // Nothing is held open: the file was read whole at open.
  }
}

// ---- the tree walk ----

interface Collected {
  tensors: Map<string, JsonTensor>;
  /** Entries that look like tensors but cannot be read, each with what is wrong. */
  problems: TensorProblem[];
  metadata: Record<string, unknown>;
  hints: SourceHints;
  layerActivations: Record<string, string>;
  file: string;
}

/** Deeper object nesting than any real export uses; beyond it a file is refused, not recursed into. */
const MAX_OBJECT_DEPTH = 64;
/** Tensors of higher rank than this are refused (numpy's own limit is 64; FFN weights are rank 1-2). */
const MAX_RANK = 32;

/** Sets an own property even for keys like `__proto__`, which plain assignment would treat specially. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Flattens nesting with dots; arrays of objects are layer lists (`layers.0.W1`). */
function walk(obj: Record<string, unknown>, prefix: string, c: Collected): void {
  if (prefix.split('.').length > MAX_OBJECT_DEPTH) {
    throw new FfnLensError(`"${prefix.slice(0, 80)}...": objects nested more than ${MAX_OBJECT_DEPTH} deep`, c.file);
  }
  for (const [key, value] of Object.entries(obj)) {
    if (prefix === '' && RESERVED.has(key)) {
      reserved(key, value, c);
    } else if (prefix !== '' && key === 'activation' && typeof value === 'string') {
      setOwn(c.layerActivations, prefix.slice(0, -1), value);
    } else {
      classify(value, prefix + key, c);
    }
  }
}

function classify(value: unknown, name: string, c: Collected): void {
  if (looksLikeTensor(value)) {
    if (c.tensors.has(name) || c.problems.some((p) => p.name === name)) {
      throw new FfnLensError(`tensor "${name}" appears twice (once as a dotted key, once nested)`, c.file);
    }
    try {
      c.tensors.set(name, tensorFromJsonValue(value, name, c.file));
    } catch (e) {
      // One unreadable tensor never hides the others: it is listed as a problem instead.
      if (!(e instanceof FfnLensError)) throw e;
      c.problems.push({ name, message: e.message });
    }
  } else if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject)) {
    value.forEach((item, i) => walk(item as Record<string, unknown>, `${name}.${i}.`, c));
  } else if (isPlainObject(value)) {
    walk(value as Record<string, unknown>, name + '.', c);
  } else {
    setOwn(c.metadata, name, value);
  }
}

function reserved(key: string, value: unknown, c: Collected): void {
  const { hints, file } = c;
  switch (key) {
    case 'activation':
    case 'layout':
      if (typeof value !== 'string') throw new FfnLensError(`"${key}" must be a string, found ${describeValue(value)}`, file);
      hints[key] = value;
      if (key === 'activation') hints.activationFrom = 'file';
      return;
    case 'tokens':
      if (!Array.isArray(value) || value.some((t) => typeof t === 'object' && t !== null)) {
        throw new FfnLensError(`"tokens" must be an array of strings, found ${describeValue(value)}`, file);
      }
      hints.tokens = value.map((t) => String(t));
      return;
    case 'inputs': {
      const t = tensorFromJsonValue(value, 'inputs', file);
      if (t.shape.length > 2) throw new FfnLensError(`"inputs" must be T x d_model (rank 2), found shape [${t.shape.join(', ')}]`, file);
      const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
      hints.inputs = { data: t.data, rows, cols };
      return;
    }
    case 'model_type':
    case 'architecture':
      if (typeof value === 'string' && value && (key === 'architecture' || !hints.architecture)) hints.architecture = value;
      c.metadata[key] = value;
      return;
    case 'config':
      c.metadata.config = value;
      if (isPlainObject(value)) {
        const h = hintsFromConfig(value as Record<string, unknown>);
        if (h.activation && !hints.activation) {
          hints.activation = h.activation;
          hints.activationFrom = 'config';
        }
        hints.architecture ??= h.architecture;
        hints.hiddenSize ??= h.hiddenSize;
        hints.intermediateSize ??= h.intermediateSize;
      }
      return;
    case 'metadata':
      if (isPlainObject(value)) for (const [k, v] of Object.entries(value as Record<string, unknown>)) setOwn(c.metadata, k, v);
      else c.metadata.metadata = value;
      return;
    default: // name, description
      c.metadata[key] = value;
  }
}

// ---- tensor decoding ----

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{data: [...]}` with at most `shape` and `dtype` beside it. */
function isTensorObject(v: unknown): v is { shape?: unknown; data: unknown[]; dtype?: unknown } {
  if (!isPlainObject(v)) return false;
  const o = v as Record<string, unknown>;
  return Array.isArray(o.data) && Object.keys(o).every((k) => k === 'data' || k === 'shape' || k === 'dtype');
}

/**
 * Whether a value is meant as a tensor, readable or not: a `{"data": [...]}` object, or a
 * non-empty array that is not a list of layer objects and either nests arrays (a matrix, even of
 * text) or holds a number, a NaN/Infinity string or null anywhere. A flat list of strings
 * (`"architectures": ["GPT2LMHeadModel"]`) is metadata.
 */
export function looksLikeTensor(v: unknown): boolean {
  if (isTensorObject(v) || isTensorArray(v)) return true;
  if (!Array.isArray(v) || v.length === 0 || v.every(isPlainObject)) return false;
  return v.some((x) => Array.isArray(x) || typeof x === 'number' || x === null || (typeof x === 'string' && NON_FINITE.test(x)));
}

/** A non-empty array whose first leaf is a number (or a NaN/Infinity string, or null: an error later). */
function isTensorArray(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  let leaf: unknown = v;
  while (Array.isArray(leaf)) {
    if (leaf.length === 0) return true;
    leaf = leaf[0];
  }
  return typeof leaf === 'number' || leaf === null || (typeof leaf === 'string' && NON_FINITE.test(leaf));
}

function checkShape(shape: unknown, name: string, file: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FfnLensError(`${name}: shape must be a list of non-negative integers, found ${describeValue(shape)}`, file);
  }
  return (shape as number[]).map((d) => d + 0); // -0 + 0 === +0
}

/** Row-major decode of a nested array; the shape comes from the first element at each depth. */
function decodeNested(value: unknown[], name: string, file: string): JsonTensor {
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
    if (shape.length > MAX_RANK) throw new FfnLensError(`${name}: arrays nested more than ${MAX_RANK} deep`, file);
  }
  const rank = shape.length;
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const at: number[] = [];
  let pos = 0;
  const where = (i: number): string => [...at, i].map((k) => `[${k}]`).join('');
  /** `row 3` of a matrix, `element 2` of a vector, `row [1][0]` deeper. */
  const holder = (i: number): string => (rank === 1 ? `element ${i}` : rank === 2 ? `row ${at[0]}` : `row ${at.map((k) => `[${k}]`).join('')}`);
  const fill = (arr: unknown[], depth: number): void => {
    if (arr.length !== shape[depth]) {
      const row = rank === 2 ? String(at[0]) : at.map((k) => `[${k}]`).join('');
      const what = depth === rank - 1 ? ['number', 'numbers'] : ['entry', 'entries'];
      throw new FfnLensError(`${name}: row ${row} has ${arr.length} ${what[arr.length === 1 ? 0 : 1]}, expected ${shape[depth]}`, file);
    }
    if (depth === rank - 1) {
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i];
        if (typeof x === 'number') out[pos++] = x;
        else if (typeof x === 'string' && NON_FINITE.test(x)) out[pos++] = /nan/i.test(x) ? NaN : x.startsWith('-') ? -Infinity : Infinity;
        else if (Array.isArray(x)) throw new FfnLensError(`${name}: element ${where(i)} is an array, expected a number (rows nest deeper than the first one)`, file);
        else throw new FfnLensError(`${name}: ${holder(i)} holds ${describeLeaf(x)}, not numbers`, file);
      }
      return;
    }
    for (let i = 0; i < arr.length; i++) {
      const child = arr[i];
      if (!Array.isArray(child)) {
        throw new FfnLensError(`${name}: element ${where(i)} is ${describeValue(child)}, expected an array of ${shape[depth + 1]}`, file);
      }
      at.push(i);
      fill(child, depth + 1);
      at.pop();
    }
  };
  fill(value, 0);
  return { shape, data: out };
}

/** What a non-number leaf is, for `W1: row 0 holds text ("a"), not numbers`. */
function describeLeaf(v: unknown): string {
  if (typeof v === 'string') return `text (${describeValue(v)})`;
  if (v === null) return 'null (JSON has no NaN: write "NaN")';
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'an object';
  return describeValue(v);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

// ---- parsing with useful errors ----

/** JSON.parse; Python's bare NaN/Infinity are accepted; otherwise the error gets a line and column. */
function parseJson(text: string, file: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch {
    // fall through to the slower paths
  }
  const quoted = /NaN|Infinity/.test(text) ? quoteBareNonFinite(text) : undefined;
  if (quoted) {
    try {
      return JSON.parse(quoted.text);
    } catch {
      const err = locateError(quoted.text);
      const inserted = quoted.inserts.filter((p) => p < err.offset).length;
      throw syntaxError(text, err.offset - inserted, err.reason, file);
    }
  }
  const err = locateError(text);
  throw syntaxError(text, err.offset, err.reason, file);
}

/**
 * The first syntax error in `text`, by a strict JSON scan (V8's messages do not always give a
 * position). Hand-written rather than jsonc-parser, whose UMD build esbuild cannot bundle for
 * Node without extra settings.
 */
function locateError(text: string): { offset: number; reason: string } {
  const n = text.length;
  let i = 0;
  const stack: ('{' | '[')[] = [];
  const fail = (reason: string, at = i): { offset: number; reason: string } => ({ offset: at, reason });
  const skipSpace = (): void => {
    for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  };
  const scanString = (): { offset: number; reason: string } | undefined => {
    const start = i++;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail('control character in a string');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail('invalid \\u escape');
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else return fail('invalid escape character');
      }
    }
    return fail('unterminated string', start);
  };
  const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  let state: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after' = 'value';
  for (;;) {
    skipSpace();
    const c = text[i];
    if (c === '/') return fail('comments are not allowed in JSON');
    if (state === 'value' || state === 'valueOrClose') {
      if (state === 'valueOrClose' && c === ']') {
        i++;
        stack.pop();
        state = 'after';
      } else if (c === '{' || c === '[') {
        i++;
        stack.push(c);
        state = c === '{' ? 'keyOrClose' : 'valueOrClose';
      } else if (c === '"') {
        const e = scanString();
        if (e) return e;
        state = 'after';
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m || /[0-9.eE+-]/.test(text[i + m[0].length] ?? '')) return fail('invalid number');
        i += m[0].length;
        state = 'after';
      } else {
        const literal = ['true', 'false', 'null'].find((l) => text.startsWith(l, i));
        if (!literal) return fail('expected a value');
        i += literal.length;
        state = 'after';
      }
    } else if (state === 'key' || state === 'keyOrClose') {
      if (state === 'keyOrClose' && c === '}') {
        i++;
        stack.pop();
        state = 'after';
        continue;
      }
      if (c !== '"') return fail('expected a property name in double quotes');
      const e = scanString();
      if (e) return e;
      skipSpace();
      if (text[i] !== ':') return fail("expected ':'");
      i++;
      state = 'value';
    } else {
      const top = stack[stack.length - 1];
      if (!top) return i < n ? fail('unexpected text after the end of the JSON value') : v8Position(text);
      const close = top === '{' ? '}' : ']';
      if (c === ',') {
        i++;
        state = top === '{' ? 'key' : 'value';
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        return fail(`expected ',' or '${close}'`);
      }
    }
  }
}

/** The scan found nothing wrong but JSON.parse did: V8's own message and position, if it gives one. */
function v8Position(text: string): { offset: number; reason: string } {
  try {
    JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(message);
    return { offset: m ? Number(m[1]) : 0, reason: message.replace(/ in JSON at position \d+.*$/, '') };
  }
  return { offset: 0, reason: 'syntax error' };
}

function syntaxError(text: string, offset: number, reason: string, file: string): FfnLensError {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const found = offset >= text.length ? 'the end of the file' : JSON.stringify(text.slice(offset, offset + 1));
  return new FfnLensError(`not valid JSON (line ${line}, column ${offset - lineStart + 1}): ${reason}, found ${found}`, file);
}

/** Quotes bare NaN / Infinity / -Infinity outside strings; `inserts` are the offsets of the added quotes. */
function quoteBareNonFinite(text: string): { text: string; inserts: number[] } | undefined {
  const parts: string[] = [];
  const inserts: number[] = [];
  let last = 0;
  let outLength = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      i++;
      continue;
    }
    const token =
      c === 78 && text.startsWith('NaN', i) ? 'NaN'
      : c === 73 && text.startsWith('Infinity', i) ? 'Infinity'
      : c === 45 && text.startsWith('-Infinity', i) ? '-Infinity'
      : undefined;
    if (!token) {
      i++;
      continue;
    }
    parts.push(text.slice(last, i), `"${token}"`);
    outLength += i - last;
    inserts.push(outLength, outLength + token.length + 1);
    outLength += token.length + 2;
    i += token.length;
    last = i;
  }
  if (!inserts.length) return undefined;
  parts.push(text.slice(last));
  return { text: parts.join(''), inserts };
}

function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}
