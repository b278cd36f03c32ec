import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isFfnLensError } from '../../src/core/errors';
import { jsonSourceFromText, openJsonSource, tensorFromJsonValue } from '../../src/formats/json';
import { tempDir } from '../helpers/jsonFixtures';

const F = 'w.json';

/** Asserts `fn` throws an FfnLensError for file `file` whose message matches `expected`. */
function throwsLens(fn: () => unknown, expected: string | RegExp, file = F): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFfnLensError(e), `not an FfnLensError: ${String(e)}`);
    assert.strictEqual(e.file, file);
    if (typeof expected === 'string') assert.strictEqual(e.message, expected);
    else assert.match(e.message, expected);
    return true;
  });
}

function shapes(text: string): Record<string, number[]> {
  return Object.fromEntries(jsonSourceFromText(text, F).tensors.map((t) => [t.name, t.shape]));
}

describe('json source: tensors', () => {
  it('decodes nested arrays row-major with their shape', async () => {
    const s = jsonSourceFromText('{"W1": [[1, 2, 3], [4, 5, 6]], "b1": [0.5, -0.25, 7]}', F);
    assert.deepStrictEqual(s.tensors.map((t) => [t.name, t.shape, t.dtype]), [['W1', [2, 3], 'F32'], ['b1', [3], 'F32']]);
    assert.deepStrictEqual(Array.from(await s.read('W1')), [1, 2, 3, 4, 5, 6]);
    assert.deepStrictEqual(Array.from(await s.read('b1')), [0.5, -0.25, 7]);
    assert.strictEqual(s.format, 'json');
  });

  it('decodes rank 3 with the last index fastest', async () => {
    const s = jsonSourceFromText('{"t": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]}', F);
    assert.deepStrictEqual(s.tensors[0].shape, [2, 3, 2]);
    assert.deepStrictEqual(Array.from(await s.read('t')), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads {shape, data} and {shape, data, dtype}', async () => {
    const s = jsonSourceFromText('{"W": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}, "b": {"shape": [2], "data": [9, 8], "dtype": "float64"}}', F);
    assert.deepStrictEqual(shapes('{"W": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}}'), { W: [2, 3] });
    assert.deepStrictEqual(Array.from(await s.read('W')), [1, 2, 3, 4, 5, 6]);
    assert.deepStrictEqual(Array.from(await s.read('b')), [9, 8]);
  });

  it('rounds to float32', async () => {
    const s = jsonSourceFromText('{"b": [0.1]}', F);
    assert.strictEqual((await s.read('b'))[0], Math.fround(0.1));
  });

  it('accepts "NaN", "Infinity", "-Infinity" strings and bare Python NaN / Infinity', async () => {
    const quoted = jsonSourceFromText('{"b": [1, "NaN", "Infinity", "-Infinity"]}', F);
    const bare = jsonSourceFromText('{"name": "has NaN in a string", "b": [1, NaN, Infinity, -Infinity]}', F);
    for (const s of [quoted, bare]) {
      const b = Array.from(await s.read('b'));
      assert.strictEqual(b[0], 1);
      assert.ok(Number.isNaN(b[1]));
      assert.strictEqual(b[2], Infinity);
      assert.strictEqual(b[3], -Infinity);
    }
    assert.strictEqual(bare.metadata.name, 'has NaN in a string');
  });

  it('returns a fresh copy from every read', async () => {
    const s = jsonSourceFromText('{"b": [1, 2]}', F);
    (await s.read('b'))[0] = 99;
    assert.deepStrictEqual(Array.from(await s.read('b')), [1, 2]);
  });

  it('flattens nesting with dots, arrays of layer objects with their index, and keeps flat dotted keys', () => {
    assert.deepStrictEqual(shapes('{"h": {"3": {"mlp": {"c_fc": {"weight": [[1, 2]], "bias": [1, 2]}}}}}'), {
      'h.3.mlp.c_fc.weight': [1, 2],
      'h.3.mlp.c_fc.bias': [2],
    });
    assert.deepStrictEqual(shapes('{"layers": [{"W1": [[1]], "b1": [1]}, {"W1": [[1, 2]]}]}'), {
      'layers.0.W1': [1, 1],
      'layers.0.b1': [1],
      'layers.1.W1': [1, 2],
    });
    assert.deepStrictEqual(shapes('{"model.layers.0.mlp.up_proj.weight": [[1], [2]]}'), { 'model.layers.0.mlp.up_proj.weight': [2, 1] });
  });

  it('tensorFromJsonValue decodes one value for the hover', () => {
    const t = tensorFromJsonValue([[1, 2], [3, 4]], 'W1', F);
    assert.deepStrictEqual(t.shape, [2, 2]);
    assert.deepStrictEqual(Array.from(t.data), [1, 2, 3, 4]);
    const o = tensorFromJsonValue({ shape: [1, 2], data: [[5, 6]] }, 'W1', F);
    assert.deepStrictEqual([o.shape, Array.from(o.data)], [[1, 2], [5, 6]]);
  });
});

describe('json source: reserved keys and metadata', () => {
  it('reads activation, layout, tokens, inputs, model_type and keeps name/description/metadata', () => {
    const s = jsonSourceFromText(
      JSON.stringify({
        activation: 'gelu', layout: 'torch', tokens: ['The', 'cat'], inputs: [[1, 2, 3], [4, 5, 6]],
        name: 'toy', description: 'two tokens', model_type: 'gpt2', metadata: { author: 'me', version: 2 },
        d_model: 3, W1: [[1]],
      }),
      F,
    );
    assert.strictEqual(s.hints.activation, 'gelu');
    assert.strictEqual(s.hints.activationFrom, 'file');
    assert.strictEqual(s.hints.layout, 'torch');
    assert.deepStrictEqual(s.hints.tokens, ['The', 'cat']);
    assert.deepStrictEqual([s.hints.inputs?.rows, s.hints.inputs?.cols, Array.from(s.hints.inputs!.data)], [2, 3, [1, 2, 3, 4, 5, 6]]);
    assert.strictEqual(s.hints.architecture, 'gpt2');
    assert.deepStrictEqual(s.tensors.map((t) => t.name), ['W1']);
    assert.strictEqual(s.metadata.name, 'toy');
    assert.strictEqual(s.metadata.description, 'two tokens');
    assert.strictEqual(s.metadata.author, 'me');
    assert.strictEqual(s.metadata.version, 2);
    assert.strictEqual(s.metadata.d_model, 3);
  });

  it('reads an embedded config like config.json; the file\'s own activation wins', () => {
    const cfg = { model_type: 'bert', hidden_act: 'gelu', hidden_size: 3, intermediate_size: 5 };
    const a = jsonSourceFromText(JSON.stringify({ config: cfg, W1: [[1]] }), F);
    assert.deepStrictEqual(
      [a.hints.activation, a.hints.activationFrom, a.hints.architecture, a.hints.hiddenSize, a.hints.intermediateSize],
      ['gelu', 'config', 'bert', 3, 5],
    );
    const b = jsonSourceFromText(JSON.stringify({ activation: 'relu', config: cfg, W1: [[1]] }), F);
    assert.deepStrictEqual([b.hints.activation, b.hints.activationFrom], ['relu', 'file']);
  });

  it('keeps a per-layer activation by its prefix, and nested scalars as dotted metadata', () => {
    const s = jsonSourceFromText('{"layers": [{"activation": "gelu", "W1": [[1]], "note": "first"}, {"W1": [[2]]}]}', F);
    assert.deepStrictEqual(s.hints.layerActivations, { 'layers.0': 'gelu' });
    assert.strictEqual(s.metadata['layers.0.note'], 'first');
  });

  it('a single input row is 1 x d', () => {
    const s = jsonSourceFromText('{"inputs": [1, 2, 3], "W1": [[1]]}', F);
    assert.deepStrictEqual([s.hints.inputs?.rows, s.hints.inputs?.cols], [1, 3]);
  });
});

describe('json source: errors name the file and the problem', () => {
  /** The problems of a file that opens: each unreadable tensor listed by name with what is wrong. */
  const problems = (text: string): string[] => (jsonSourceFromText(text, F).problems ?? []).map((p) => `${p.name} | ${p.message}`);

  it('ragged rows are problems of their tensor, not a failure of the file', () => {
    const rows = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4]];
    assert.deepStrictEqual(problems(JSON.stringify({ W1: rows, W2: [[1]] })), ['W1 | W1: row 3 has 4 numbers, expected 5']);
    assert.deepStrictEqual(problems('{"t": [[[1, 2], [3, 4]], [[5, 6], [7]]]}'), ['t | t: row [1][1] has 1 number, expected 2']);
    assert.deepStrictEqual(problems('{"t": [[[1, 2], [3, 4]], [[5, 6]]]}'), ['t | t: row [1] has 1 entry, expected 2']);
  });

  it('non-numbers and null inside a tensor', () => {
    assert.deepStrictEqual(problems('{"b1": [1, 2, "x"]}'), ['b1 | b1: element 2 holds text ("x"), not numbers']);
    assert.deepStrictEqual(problems('{"b1": [1, null]}'), ['b1 | b1: element 1 holds null (JSON has no NaN: write "NaN"), not numbers']);
    assert.deepStrictEqual(problems('{"W1": [[1, 2], [true, 4]]}'), ['W1 | W1: row 1 holds true, not numbers']);
    assert.deepStrictEqual(problems('{"W1": [[1, 2], 3]}'), ['W1 | W1: element [1] is 3, expected an array of 2']);
    assert.match(problems('{"W1": [1, [2]]}')[0], /^W1 \| W1: element \[1\] is an array, expected a number/);
    assert.deepStrictEqual(problems('{"W1": [[1, {"a": 2}]]}'), ['W1 | W1: row 0 holds an object, not numbers']);
  });

  it('a matrix of text is a tensor with a problem, not metadata (issue 10)', () => {
    const text = '{"W1": [["a","b"],["c","d"]], "W2": [[1,2],[3,4]]}';
    assert.deepStrictEqual(problems(text), ['W1 | W1: row 0 holds text ("a"), not numbers']);
    const s = jsonSourceFromText(text, F);
    assert.deepStrictEqual(s.tensors.map((t) => t.name), ['W2']);
    assert.ok(!('W1' in s.metadata), 'W1 must not turn into metadata');
    // a flat list of strings is metadata, as in a config's "architectures"
    assert.deepStrictEqual(problems('{"W": [1], "architectures": ["GPT2LMHeadModel"]}'), []);
  });

  it('the same problems whichever tensor comes first', () => {
    const bad = '"W1": [["a","b"],["c","d"]]';
    const ragged = '"b1": [[1], [2, 3]]';
    const good = '"W2": [[1,2],[3,4]]';
    const forward = problems(`{${bad}, ${ragged}, ${good}}`);
    assert.deepStrictEqual(forward, ['W1 | W1: row 0 holds text ("a"), not numbers', 'b1 | b1: row 1 has 2 numbers, expected 1']);
    assert.deepStrictEqual(problems(`{${good}, ${ragged}, ${bad}}`), forward);
  });

  it('{shape, data} whose data does not fill the shape, or a bad shape', () => {
    assert.deepStrictEqual(problems('{"W1": {"shape": [2, 3], "data": [1, 2, 3, 4, 5]}}'), ['W1 | W1: data has 5 numbers but shape [2, 3] needs 6']);
    assert.match(problems('{"W1": {"shape": [2, -3], "data": [1]}}')[0], /^W1 \| W1: shape must be a list of non-negative integers/);
  });

  it('not JSON: line and column of the first error', () => {
    // line 3 lacks the comma after its value; the error is where "b1" starts: line 4, column 3.
    const text = '{\n  "W1": [[1, 2]],\n  "W2": [[1], [2]]\n  "b1": [1, 2]\n}';
    throwsLens(() => jsonSourceFromText(text, F), /^not valid JSON \(line 4, column 3\): expected ',' or '}', found "\\""$/);
    throwsLens(() => jsonSourceFromText('{"b": [1, 2,]}', F), /^not valid JSON \(line 1, column 13\): expected a value, found "]"$/);
    throwsLens(() => jsonSourceFromText('{"b": [1, NaN, oops]}', F), /^not valid JSON \(line 1, column 16\)/);
    throwsLens(() => jsonSourceFromText('{"b": [1, 2]', F), /^not valid JSON \(line 1, column 13\): expected ',' or '}', found the end of the file$/);
  });

  it('not JSON: each kind of syntax error, with its column', () => {
    const cases: [string, string][] = [
      ['', 'line 1, column 1): expected a value, found the end of the file'],
      ['{"a": 1} x', 'line 1, column 10): unexpected text after the end of the JSON value, found "x"'],
      ["{'a': 1}", 'line 1, column 2): expected a property name in double quotes, found "\'"'],
      ['{"a" 1}', 'line 1, column 6): expected \':\', found "1"'],
      ['{"a": 01}', 'line 1, column 7): invalid number, found "0"'],
      ['{"a": "x\\q"}', 'line 1, column 9): invalid escape character, found "\\\\"'],
      ['{"a": "abc', 'line 1, column 7): unterminated string, found "\\""'],
      ['{"a": 1 // note\n}', 'line 1, column 9): comments are not allowed in JSON, found "/"'],
      ['{"a": [1, 2}', "line 1, column 12): expected ',' or ']', found \"}\""],
      ['{"a": tru}', 'line 1, column 7): expected a value, found "t"'],
      ['{\r\n"a":\r\n  [1,\r\n  x]}', 'line 4, column 3): expected a value, found "x"'],
    ];
    for (const [text, where] of cases) {
      assert.throws(() => jsonSourceFromText(text, F), (e: unknown) => {
        assert.ok(isFfnLensError(e));
        assert.strictEqual(e.message, `not valid JSON (${where}`, JSON.stringify(text));
        return true;
      });
    }
  });

  it('top level that is not an object, and no tensors', () => {
    throwsLens(() => jsonSourceFromText('[[1, 2]]', F), /^expected a JSON object at the top level .* found an array$/);
    throwsLens(() => jsonSourceFromText('{"name": "x", "activation": "relu"}', F), /^no tensors found: .*\(top-level keys: name, activation\)$/);
    throwsLens(() => jsonSourceFromText('{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}', F), /looks like a Hugging Face config\.json/);
  });

  it('bad reserved keys and duplicate names', () => {
    throwsLens(() => jsonSourceFromText('{"activation": 3, "W1": [[1]]}', F), '"activation" must be a string, found 3');
    throwsLens(() => jsonSourceFromText('{"tokens": "abc", "W1": [[1]]}', F), '"tokens" must be an array of strings, found "abc"');
    throwsLens(() => jsonSourceFromText('{"a.b": [1], "a": {"b": [2]}}', F), /^tensor "a\.b" appears twice/);
  });

  it('read of an unknown tensor, and a cancelled read', async () => {
    const s = jsonSourceFromText('{"b": [1]}', F);
    await assert.rejects(s.read('nope'), (e: unknown) => isFfnLensError(e) && e.message === 'no tensor named "nope"' && e.file === F);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(s.read('b', { signal: ac.signal }), (e: unknown) => isFfnLensError(e) && e.kind === 'cancelled');
  });
});

describe('json source: files', () => {
  it('opens a file from disk and reports a missing one', async () => {
    const dir = tempDir();
    const p = path.join(dir, 'w.json');
    fs.writeFileSync(p, '\uFEFF{"W1": [[1, 2]]}');
    const s = await openJsonSource(p);
    assert.strictEqual(s.path, p);
    assert.deepStrictEqual(s.tensors[0].shape, [1, 2]);
    const missing = path.join(dir, 'missing.json');
    await assert.rejects(openJsonSource(missing), (e: unknown) => isFfnLensError(e) && e.file === missing && /no such file/.test(e.message));
  });

  it('handles a file of tens of MB', async function () {
    this.timeout(60000);
    const rows = 1024;
    const cols = 2048;
    const dir = tempDir();
    const p = path.join(dir, 'big.json');
    const parts: string[] = ['{"W1": ['];
    for (let r = 0; r < rows; r++) {
      const row = new Array<string>(cols);
      for (let c = 0; c < cols; c++) row[c] = ((r * cols + c) % 9973 / 7.3).toFixed(6);
      parts.push((r ? ',[' : '[') + row.join(',') + ']');
    }
    parts.push(']}');
    fs.writeFileSync(p, parts.join(''));
    assert.ok(fs.statSync(p).size > 15e6);
    const s = await openJsonSource(p);
    assert.deepStrictEqual(s.tensors[0].shape, [rows, cols]);
    const w = await s.read('W1');
    const at = (r: number, c: number): number => Math.fround(Number(((r * cols + c) % 9973 / 7.3).toFixed(6)));
    for (const [r, c] of [[0, 0], [0, 2047], [517, 3], [1023, 2047]]) assert.strictEqual(w[r * cols + c], at(r, c));
  });
});
