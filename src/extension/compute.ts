/**
 * The one ComputeClient (a worker_threads pool running the pipeline), created on first use so
 * activation stays fast, and disposed with the extension. All FFN work goes through it: the
 * extension host thread never runs a layer. A weight file coming into view starts the worker
 * ahead of the first run (`prestartCompute`); an idle worker stops after
 * `ffnLens.workerIdleMinutes` to give its memory back.
 */
import type * as vscode from 'vscode';
import type { ComputeClient } from '../worker/client';
import { log } from './log';

let client: ComputeClient | undefined;
let idleStopMs = 0;

/** Applies `ffnLens.workerIdleMinutes` (as ms) to the client now and to any made later. */
export function setWorkerIdleMs(ms: number): void {
  idleStopMs = ms;
  client?.setIdleStopMs(ms);
}

/** The shared client, started on first call. */
export async function computeClient(context: vscode.ExtensionContext): Promise<ComputeClient> {
  if (!client) {
    const mod = await import('../worker/client');
    if (!client) {
      const created = new mod.ComputeClient(context.asAbsolutePath('dist/worker.js'), {
        idleStopMs,
        onIdleStop: () => log().info(`stopped the idle compute worker (ffnLens.workerIdleMinutes = ${idleStopMs / 60_000})`),
      });
      client = created;
      context.subscriptions.push({
        dispose: () => {
          created.dispose();
          if (client === created) client = undefined;
        },
      });
    }
  }
  return client;
}

/**
 * Starts the worker (thread, bundle, kernel) in the background because a run is likely soon: a
 * weight file was opened. Off the caller's path: failures surface on the run itself.
 */
export function prestartCompute(context: vscode.ExtensionContext): void {
  if (client?.running) return;
  void computeClient(context).then(
    (c) => {
      if (!c.running) log().debug('starting the compute worker ahead of a run');
      c.warm();
    },
    () => undefined,
  );
}
