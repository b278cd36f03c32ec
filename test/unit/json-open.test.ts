import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isFfnLensError } from '../../src/core/errors';
import { readConfigBeside, hintsFromConfig } from '../../src/formats/configJson';
import { type Opener, openSource, sniff } from '../../src/formats/open';
import type { TensorSource, WeightFormat } from '../../src/formats/source';
import { tempDir } from '../helpers/jsonFixtures';

/** Openers that record which format was asked for and return an empty source. */
function fakeOpeners(calls: string[]): Partial<Record<WeightFormat, Opener>> {
  const make = (format: WeightFormat): Opener => async (p) => {
    calls.push(format);
    const source: TensorSource = { format, path: p, tensors: [], metadata: {}, hints: {}, read: async () => new Float32Array(0), close: async () => undefined };
    return source;
  };
  return { json: make('json'), safetensors: make('safetensors'), npy: make('npy'), npz: make('npz'), gguf: make('gguf') };
}

function write(dir: string, name: string, bytes: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** 8-byte little-endian header length, then the JSON header: the start of a safetensors file. */
function safetensorsBytes(): Uint8Array {
  const header = Buffer.from('{"__metadata__":{}}');
  const out = Buffer.alloc(8 + header.length);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  return out;
}

/** A zip local file header whose first member is `name`. */
function zipBytes(name: string): Uint8Array {
  const out = Buffer.alloc(30 + name.length + 4);
  out.write('PK\x03\x04', 0, 'latin1');
  out.writeUInt16LE(name.length, 26);
  out.write(name, 30, 'latin1');
  return out;
}

async function rejectsLens(p: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isFfnLensError(e), String(e));
    assert.strictEqual(e.file, file);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('openSource: dispatch', () => {
  it('by extension', async () => {
    const dir = tempDir();
    const calls: string[] = [];
    const openers = fakeOpeners(calls);
    for (const name of ['a.safetensors', 'model.safetensors.index.json', 'a.npy', 'a.npz', 'a.gguf', 'a.json']) {
      await openSource(write(dir, name, 'x'), { openers, config: false });
    }
    assert.deepStrictEqual(calls, ['safetensors', 'safetensors', 'npy', 'npz', 'gguf', 'json']);
  });

  it('by magic bytes when the extension says nothing', async () => {
    const dir = tempDir();
    const calls: string[] = [];
    const openers = fakeOpeners(calls);
    await openSource(write(dir, 'w1', '  {"W1": [[1]]}'), { openers });
    await openSource(write(dir, 'w2', 'GGUF\x03\x00\x00\x00'), { openers });
    await openSource(write(dir, 'w3', Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY\x01\x00')])), { openers });
    await openSource(write(dir, 'w4', zipBytes('W1.npy')), { openers });
    await openSource(write(dir, 'w5', safetensorsBytes()), { openers });
    assert.deepStrictEqual(calls, ['json', 'gguf', 'npy', 'npz', 'safetensors']);
    assert.deepStrictEqual(
      [sniff(Buffer.from('[1]')), sniff(Buffer.from('\uFEFF\n {')), sniff(Buffer.from('hello'))],
      ['json', 'json', undefined],
    );
  });

  it('a .bin that is really GGUF or safetensors opens as such', async () => {
    const dir = tempDir();
    const calls: string[] = [];
    await openSource(write(dir, 'model.bin', 'GGUF\x03\x00\x00\x00'), { openers: fakeOpeners(calls) });
    await openSource(write(dir, 'model2.bin', safetensorsBytes()), { openers: fakeOpeners(calls) });
    assert.deepStrictEqual(calls, ['gguf', 'safetensors']);
  });

  it('opens JSON with the real reader', async () => {
    const dir = tempDir();
    const s = await openSource(write(dir, 'w.json', '{"W1": [[1, 2]], "W2": [[3], [4]]}'));
    assert.strictEqual(s.format, 'json');
    assert.deepStrictEqual(s.tensors.map((t) => t.name), ['W1', 'W2']);
  });
});

describe('openSource: refusals and bad paths', () => {
  it('refuses PyTorch pickles with the conversion command, without reading them', async () => {
    const dir = tempDir();
    const files = [
      write(dir, 'pytorch_model.bin', Buffer.from([0x80, 0x02, 0x8a, 0x0a])),
      write(dir, 'model.pt', zipBytes('archive/data.pkl')),
      write(dir, 'model.pth', 'anything'),
      write(dir, 'last.ckpt', zipBytes('last/byteorder')),
      write(dir, 'noext', Buffer.from([0x80, 0x04, 0x95])),
      write(dir, 'pytorch_model.bin.index.json', '{"weight_map": {}}'),
    ];
    for (const f of files) {
      await rejectsLens(openSource(f, { openers: fakeOpeners([]) }), f, /PyTorch pickle file, and FFN Lens never unpickles/);
    }
    await assert.rejects(openSource(files[0]), (e: unknown) => {
      const m = (e as Error).message;
      assert.ok(m.includes("torch.load('pytorch_model.bin', map_location='cpu', weights_only=True)"), m);
      assert.ok(m.includes('from safetensors.torch import save_file'), m);
      assert.ok(m.includes("sd.get('state_dict'"), m);
      assert.ok(m.includes("'pytorch_model.safetensors'"), m);
      return true;
    });
  });

  it('missing file, folder, unknown format, Git LFS pointer', async () => {
    const dir = tempDir();
    const missing = path.join(dir, 'nope.safetensors');
    await rejectsLens(openSource(missing), missing, /^cannot open the file \(no such file\)$/);
    write(dir, 'model.safetensors', 'x');
    await rejectsLens(openSource(dir), dir, /^is a folder, not a weight file; open one of: model\.safetensors$/);
    const odd = write(dir, 'weights.dat', 'hello world');
    await rejectsLens(openSource(odd), odd, /^unrecognised weight file .*\.json, \.safetensors .*\.npy, \.npz, \.gguf/);
    const lfs = write(dir, 'lfs.safetensors', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n');
    await rejectsLens(openSource(lfs), lfs, /Git LFS pointer.*git lfs pull/);
  });

  it('permission denied', async function () {
    if (process.platform === 'win32' || process.getuid?.() === 0) this.skip();
    const dir = tempDir();
    const p = write(dir, 'locked.json', '{"W1": [[1]]}');
    fs.chmodSync(p, 0o000);
    await rejectsLens(openSource(p), p, /permission denied/);
  });

  it('a reader that cannot be loaded or fails says so as an FfnLensError', async () => {
    const dir = tempDir();
    const p = write(dir, 'bad.gguf', 'not gguf at all');
    await assert.rejects(openSource(p), (e: unknown) => isFfnLensError(e));
  });
});

describe('config.json beside the weights', () => {
  it('supplies activation, architecture and sizes; the file\'s own activation wins', async () => {
    const dir = tempDir();
    write(dir, 'config.json', JSON.stringify({ model_type: 'gpt2', activation_function: 'gelu_new', n_embd: 3, n_inner: 5 }));
    const a = await openSource(write(dir, 'a.json', '{"W1": [[1]]}'));
    assert.deepStrictEqual(
      [a.hints.activation, a.hints.activationFrom, a.hints.architecture, a.hints.hiddenSize, a.hints.intermediateSize],
      ['gelu_new', 'config', 'gpt2', 3, 5],
    );
    assert.deepStrictEqual(a.metadata.configJson, { path: path.join(dir, 'config.json') });
    const b = await openSource(write(dir, 'b.json', '{"activation": "relu", "W1": [[1]]}'));
    assert.deepStrictEqual([b.hints.activation, b.hints.activationFrom, b.hints.architecture], ['relu', 'file', 'gpt2']);
    const c = await openSource(write(dir, 'c.json', '{"W1": [[1]]}'), { config: false });
    assert.strictEqual(c.hints.activation, undefined);
  });

  it('a broken config.json is ignored, with the reason in metadata', async () => {
    const dir = tempDir();
    write(dir, 'config.json', '{"hidden_act": ');
    const s = await openSource(write(dir, 'w.json', '{"W1": [[1]]}'));
    assert.strictEqual(s.hints.activation, undefined);
    const info = s.metadata.configJson as { ignored?: string };
    assert.match(info.ignored ?? '', /^config\.json is not valid JSON/);
    assert.deepStrictEqual(await s.read('W1'), new Float32Array([1]));
  });

  it('readConfigBeside: none, not an object, and the keys families use', async () => {
    const dir = tempDir();
    assert.strictEqual(await readConfigBeside(path.join(dir, 'w.safetensors')), undefined);
    write(dir, 'config.json', '[1, 2]');
    assert.strictEqual((await readConfigBeside(path.join(dir, 'w.safetensors')))?.ignored, 'config.json is not a JSON object');
    assert.deepStrictEqual(hintsFromConfig({ model_type: 'llama', hidden_act: 'silu', hidden_size: 8, intermediate_size: 16 }), {
      architecture: 'llama', activation: 'silu', hiddenSize: 8, intermediateSize: 16,
    });
    assert.deepStrictEqual(hintsFromConfig({ model_type: 'gemma', hidden_act: 'gelu' }), { architecture: 'gemma' });
    assert.strictEqual(hintsFromConfig({ model_type: 'gemma2', hidden_activation: 'gelu_pytorch_tanh' }).activation, 'gelu_pytorch_tanh');
    assert.strictEqual(hintsFromConfig({ model_type: 't5', feed_forward_proj: 'gated-gelu' }).activation, 'gelu_new');
    assert.strictEqual(hintsFromConfig({ model_type: 't5', feed_forward_proj: 'relu' }).activation, 'relu');
    assert.deepStrictEqual(hintsFromConfig({ text_config: { model_type: 'gemma3_text', hidden_activation: 'gelu_pytorch_tanh' } }), {
      architecture: 'gemma3_text', activation: 'gelu_pytorch_tanh',
    });
    assert.strictEqual(hintsFromConfig({ model_type: 'bert', hidden_act: 'gelu' }).activation, 'gelu');
    assert.strictEqual(hintsFromConfig({ model_type: 'opt', activation_function: 'relu', ffn_dim: 3072 }).intermediateSize, 3072);
  });
});
