/**
 * What the viewer asks of the compute worker: a file's listing (header only, `stats: false`) and
 * the statistics of one tensor. Both go through the shared ComputeClient, so the extension host
 * never reads tensor data or loops over it.
 *
 * One-tensor statistics rely on `inspect(path, { stats: true, tensors: [name] })`: the worker
 * then reads only that tensor. A client that does not forward `tensors` would compute every
 * tensor's statistics; `tensorStats` notices and logs it (see the note in register.ts).
 */
import type * as vscode from 'vscode';
import { FfnLensError } from '../../core/errors';
import type { TensorStats } from '../../core/types';
import type { InspectResult } from '../../protocol/run';
import { computeClient } from '../compute';
import { log } from '../log';

/** The options the viewer passes to `ComputeClient.inspect`. */
export interface ViewerInspectOptions {
  stats: boolean;
  signal?: AbortSignal;
  /** Only these tensors (statistics of one tensor without reading the others). */
  tensors?: readonly string[];
  /** Tensors whose float32 size exceeds this get `statsError` instead of being read. */
  memoryBudgetBytes?: number;
}

/** The part of ComputeClient the viewer uses. */
export interface InspectClient {
  inspect(path: string, options: ViewerInspectOptions): Promise<InspectResult>;
}

export interface ViewerBackend {
  /** The tensors, layers and metadata of `file`, from its header. */
  list(file: string, signal: AbortSignal): Promise<InspectResult>;
  /** Statistics of one tensor of `file`. Throws FfnLensError when it cannot be decoded. */
  tensorStats(file: string, name: string, budgetBytes: number, signal: AbortSignal): Promise<TensorStats>;
}

/** The backend over the extension's shared compute client (started on first use). */
export function computeBackend(context: vscode.ExtensionContext): ViewerBackend {
  const client = async (): Promise<InspectClient> => computeClient(context);
  return {
    async list(file, signal) {
      return (await client()).inspect(file, { stats: false, signal });
    },
    async tensorStats(file, name, budgetBytes, signal) {
      const result = await (await client()).inspect(file, { stats: true, tensors: [name], memoryBudgetBytes: budgetBytes, signal });
      const withStats = result.tensors.filter((t) => t.stats !== undefined).length;
      if (withStats > 1) log().warn(`viewer: the compute worker computed statistics of ${withStats} tensors for one request (it ignores \`tensors\`)`);
      const t = result.tensors.find((x) => x.name === name);
      if (!t) throw new FfnLensError(`no tensor named '${name}'`, file);
      if (!t.stats) throw new FfnLensError(t.statsError ?? `no statistics for '${name}'`, file);
      return t.stats;
    },
  };
}
