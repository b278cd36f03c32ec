/**
 * The one ComputeClient (a worker_threads pool running the pipeline), created on first use so
 * activation stays fast, and disposed with the extension. All FFN work goes through it: the
 * extension host thread never runs a layer.
 */
import type * as vscode from 'vscode';
import type { ComputeClient } from '../worker/client';

let client: ComputeClient | undefined;

/** The shared client, started on first call. */
export async function computeClient(context: vscode.ExtensionContext): Promise<ComputeClient> {
  if (!client) {
    const mod = await import('../worker/client');
    if (!client) {
      const created = new mod.ComputeClient(context.asAbsolutePath('dist/worker.js'));
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
