/**
 * PyTorch pickles through the built CLI: `run` and `inspect` on `.bin` / `.pt` / `.pth` / `.ckpt`
 * files (a raw pickle starting 0x80 0x02, and a torch zip whose first member is
 * `archive/data.pkl`) exit 1 with one `error:` line that names the file, says FFN Lens never
 * unpickles, and gives the safetensors conversion command. Nothing is ever unpickled.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir, zipBytes } from '../helpers/binaryWriters';
import { CLI, buildCliOnce } from '../helpers/cli';


/** pickle protocol 2: PROTO 2, EMPTY_DICT, STOP: what `pickle.dump({}, f, 2)` writes. */
const RAW_PICKLE = Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

/** What torch.save writes since 1.6: a zip whose members live under `archive/`, data.pkl first. */
const TORCH_ZIP = zipBytes([
  { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
  { name: 'archive/byteorder', data: Buffer.from('little') },
  { name: 'archive/data/0', data: new Uint8Array(64) },
  { name: 'archive/version', data: Buffer.from('3\n') },
]);

const CASES: [string, Uint8Array][] = [
  ['pytorch_model.bin', RAW_PICKLE],
  ['model.pt', TORCH_ZIP],
  ['weights.pth', RAW_PICKLE],
  ['last.ckpt', TORCH_ZIP],
];

describe('formats end to end: PyTorch pickles are refused, never unpickled', function () {
  this.timeout(60000);
  let dir = '';
  before(() => {
    buildCliOnce();
    dir = tempDir('pickle-e2e');
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, bytes] of CASES) {
    for (const args of [['run', '--json'], ['inspect'], ['inspect', '--json']]) {
      it(`${args.join(' ')} ${name}: exit 1 and one error line with the conversion hint`, () => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, bytes);
        const r = spawnSync(process.execPath, [CLI, args[0], file, ...args.slice(1)], { encoding: 'utf8' });
        assert.strictEqual(r.status, 1, r.stderr);
        assert.strictEqual(r.stdout, '');
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        assert.strictEqual(lines.length, 1, r.stderr);
        const [line] = lines;
        assert.ok(line.startsWith('error: '), line);
        assert.ok(line.includes(file), `names the file: ${line}`);
        assert.match(line, /PyTorch pickle/);
        assert.match(line, /never unpickles/);
        assert.match(line, /convert it to safetensors/);
        assert.match(line, /from safetensors\.torch import save_file/);
        assert.ok(line.includes(`torch.load('${name}', map_location='cpu', weights_only=True)`), `the command loads this file: ${line}`);
        assert.ok(!/\bat .+:\d+:\d+\)?$/m.test(r.stderr), 'no stack trace');
      });
    }
  }
});
