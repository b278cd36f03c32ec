import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI, ROOT, buildCliOnce, runCli } from '../helpers/cli';


const cli = runCli;

/** Exit status `code`, nothing on stdout, one stderr line starting `error:` that contains every part. */
function assertError(r: ReturnType<typeof cli>, code: number, ...parts: string[]): void {
  assert.strictEqual(r.code, code, `exit status (stderr: ${r.stderr})`);
  assert.strictEqual(r.stdout, '');
  const lines = r.stderr.split('\n');
  assert.strictEqual(lines.length, 2, `one line, got: ${JSON.stringify(r.stderr)}`);
  assert.strictEqual(lines[1], '');
  assert.match(lines[0], /^error: /);
  assert.doesNotMatch(lines[0], /\bat .*:\d+:\d+/, 'no stack trace');
  for (const part of parts) assert.ok(lines[0].includes(part), `"${lines[0]}" lacks "${part}"`);
}

describe('cli: errors and usage', function () {
  this.timeout(60000);
  let dir: string;
  let good: string;
  const write = (name: string, content: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };

  before(() => {
    buildCliOnce();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-cli-errors-'));
    good = write('good.json', JSON.stringify({ W1: [[1, -1, 0.5], [2, 1, -1]], b1: [0, 0.5, -1], W2: [[1, 0], [0, 2], [-1, 1]], b2: [0.5, -0.5] }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('bad input: exit 1, naming the file', () => {
    it('missing file (run and inspect)', () => {
      const missing = path.join(dir, 'nope.json');
      assertError(cli('run', missing), 1, 'nope.json');
      assertError(cli('inspect', missing, '--json'), 1, 'nope.json');
    });
    it('not JSON', () => {
      assertError(cli('run', write('garbage.json', 'this is { not json')), 1, 'garbage.json');
    });
    it('no FFN layer', () => {
      assertError(cli('run', write('nolayer.json', JSON.stringify({ embed: [[1, 2], [3, 4]] }))), 1, 'nolayer.json', 'layer');
    });
    it('inputs of the wrong width', () => {
      const inputs = write('wide-inputs.json', JSON.stringify({ inputs: [[1, 2, 3, 4, 5]] }));
      assertError(cli('run', good, '--inputs', inputs), 1, 'wide-inputs.json', 'width 5', 'd_model 2');
    });
    it('a missing inputs file', () => {
      assertError(cli('run', good, '--inputs', path.join(dir, 'absent-inputs.json')), 1, 'absent-inputs.json');
    });
    it('a gated activation on a two-matrix layer', () => {
      assertError(cli('run', good, '--activation', 'swiglu'), 1, 'good.json', 'swiglu');
    });
  });

  describe('bad usage: exit 2', () => {
    it('unknown activation lists the valid ones', () => {
      assertError(cli('run', good, '--activation', 'tanhh'), 2, 'good.json', 'tanhh', 'relu, gelu, gelu_tanh, silu, swiglu');
    });
    it('--random 0, --random abc, --random without a value', () => {
      assertError(cli('run', good, '--random', '0'), 2, 'good.json', '--random');
      assertError(cli('run', good, '--random', 'abc'), 2, 'good.json', '--random', 'abc');
      assertError(cli('run', good, '--random'), 2, 'good.json', '--random needs a value');
      assertError(cli('run', good, '--random', '3', '--seed', '-1'), 2, 'good.json', '--seed');
    });
    it('unknown flag, for run and inspect, before or after the file', () => {
      assertError(cli('run', good, '--frobnicate'), 2, 'good.json', '--frobnicate');
      assertError(cli('run', '--frobnicate', good), 2, 'good.json', '--frobnicate');
      assertError(cli('inspect', good, '--full'), 2, 'good.json', '--full');
    });
    it('unknown command, no command, missing file argument, two files', () => {
      assertError(cli('explode', good), 2, 'explode');
      assertError(cli(), 2, 'missing command');
      assertError(cli('run'), 2, 'missing <file>');
      assertError(cli('inspect', '--json'), 2, 'missing <file>');
      assertError(cli('run', good, good), 2, 'one file');
    });
    it('unknown layer id (the layer finder calls it usage: the choice, not the file, is wrong)', () => {
      assertError(cli('run', good, '--layer', 'h.7.mlp'), 2, 'good.json', 'h.7.mlp', 'available: main');
    });
    it('--inputs with --random', () => {
      assertError(cli('run', good, '--inputs', good, '--random', '2'), 2, 'good.json', 'cannot be used together');
    });
  });

  it('--help and -h print usage on stdout, exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = cli(flag);
      assert.strictEqual(r.code, 0);
      assert.match(r.stdout, /^Usage:$/m);
      assert.match(r.stdout, /run <file> \[--layer ID\] \[--activation NAME\] \[--inputs FILE\]/);
      assert.strictEqual(r.stderr, '');
    }
  });

  it('--version prints the package version', () => {
    const r = cli('--version');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.strictEqual(r.code, 0);
    assert.strictEqual(r.stdout, `${pkg.version}\n`);
  });

  it('exits quietly when stdout closes early (| head)', () => {
    const big = write('big.json', JSON.stringify({ W1: Array.from({ length: 4 }, () => Array(64).fill(0.25)), W2: Array.from({ length: 64 }, () => Array(4).fill(0.5)) }));
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" run "${big}" --random 3000 --json --full | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
    });
    assert.strictEqual(r.stderr, '');
    assert.strictEqual(r.stdout.trim(), '0');
  });
});
