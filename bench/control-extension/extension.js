// The floor for bench:ui's activation figure: what VS Code reports for an extension that only
// registers a command.
const vscode = require('vscode');

exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('ffnLensBenchControl.hello', () => undefined));
};
