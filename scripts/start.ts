// `npm start [-- --port <n>]`: builds the extension, keeps esbuild watching, and serves a real VS Code
// (code-server) on samples/ with the extension loaded. Open the printed URL in a browser; after a
// change, run "Developer: Reload Window" there. Ctrl-C stops everything.
import { spawn } from 'child_process';
import { ROOT, SAMPLES, build, killTree, killTreeSync, log, onCleanup, runMain, startCodeServer } from './codeServer';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  await build();
  const port = arg('--port') ?? process.env.PORT;
  // The first window on samples/ opens the walkthrough "Get started with FFN Lens" (src/extension/firstRun.ts).
  const server = await startCodeServer({ port: port ? Number(port) : undefined, settings: { 'workbench.welcomePage.walkthroughs.openOnInstall': true } });

  const watch = spawn(process.execPath, ['esbuild.js', '--watch'], { cwd: ROOT, stdio: 'inherit' });
  onCleanup({ sync: () => killTreeSync(watch.pid!), async: () => killTree(watch.pid!) });

  const url = server.workbenchUrl({ folder: SAMPLES, extensionDevelopmentPath: ROOT });
  console.log(`
FFN Lens is running in a real VS Code (code-server) on samples/. Open this URL in a browser (the
first window opens the walkthrough "Get started with FFN Lens"; F1 > "FFN Lens: Get Started" later):

  ${url}

esbuild rebuilds dist/ on every save; reload the window (F1 > "Developer: Reload Window") to pick
changes up. It listens on 127.0.0.1 only; from another machine use an SSH tunnel
(ssh -L ${server.port}:127.0.0.1:${server.port} <host>). Ctrl-C to stop.
`);
  log(`logs: ${server.userDataDir}/logs`);
  // Stay up until Ctrl-C (the harness stops code-server and esbuild on the signal).
  return new Promise<number>(() => undefined);
}

runMain(main);
