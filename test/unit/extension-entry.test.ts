// Activation loads only the entry bundle: it must stay small and require nothing but `vscode` and
// the features bundle, which it loads on first use (issue 5: activation under 50 ms, heavy modules
// loaded lazily). Built here exactly as esbuild.js builds dist/extension.js. Besides its ids it holds
// firstRun.ts, which opens the walkthrough once in the extension's own samples/ folder (issue 13).
import * as assert from 'assert';
import * as path from 'path';
import * as esbuild from 'esbuild';

const root = path.join(__dirname, '../..');

describe('extension entry bundle', function () {
  this.timeout(30000);

  it('requires only vscode and ./features.js, and is a few kilobytes', async () => {
    const out = await esbuild.build({
      entryPoints: [path.join(root, 'src/extension/extension.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      external: ['vscode', './features.js'],
      minify: true,
      metafile: true,
      logLevel: 'error',
    });
    const code = out.outputFiles[0].text;
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    assert.deepStrictEqual([...new Set(required)], ['./features.js', 'vscode']);
    const inputs = Object.keys(out.metafile.inputs).map((f) => path.relative(root, path.resolve(root, f))).sort();
    assert.deepStrictEqual(inputs, ['src/extension/constants.ts', 'src/extension/extension.ts', 'src/extension/firstRun.ts'], 'the entry bundles more than its ids and the first-run check');
    assert.ok(code.length < 8 * 1024, `the entry is ${code.length} bytes`);
  });
});
