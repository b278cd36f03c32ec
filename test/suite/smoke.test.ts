import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';

describe('smoke: the extension in a real VS Code', () => {
  it('runs inside the real extension host API', () => {
    assert.strictEqual(typeof vscode.version, 'string');
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
  });

  it('loads ffn-lens.ffn-lens from the development path and activates it', async () => {
    const ext = vscode.extensions.getExtension('ffn-lens.ffn-lens');
    assert.ok(ext, 'extension ffn-lens.ffn-lens is not loaded: is extensionDevelopmentPath the repository root?');
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  it('opens the samples/ workspace', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.deepStrictEqual(folders.map((f) => path.basename(f.uri.fsPath)), ['samples']);
  });
});
