/**
 * "Inspect a file": its tensors from the header alone and, when asked, statistics of each tensor
 * read one at a time (so memory holds one tensor, never the file), plus the FFN layers found.
 * A file without a recognisable layer still inspects: the reason goes in `layersError`.
 * No `vscode` import.
 */
import { FfnLensError, isFfnLensError } from '../core/errors';
import { tensorStats } from '../core';
import { openSource } from '../formats/open';
import { findLayers } from '../layers';
import type { LayerSpec } from '../layers/types';
import type { InspectResult, InspectedTensor } from '../protocol/run';

export interface InspectOptions {
  /** Read every tensor to compute statistics (otherwise the header alone is used). */
  stats: boolean;
  signal?: AbortSignal;
  /** Tensors whose float32 size exceeds this get `statsError` instead of being read. */
  memoryBudgetBytes?: number;
  /** When the tensors hold more than this many bytes in the file, skip statistics (header only) and
   * say why in `statsSkipped`: a multi-GB checkpoint is listed at once instead of read whole. */
  maxStatsBytes?: number;
  /** List (and read) only these tensors: statistics of one tensor without touching the others. */
  tensors?: readonly string[];
}

/** Default for `maxStatsBytes` in the CLI: above this, `inspect` lists without statistics unless `--stats`. */
export const DEFAULT_MAX_STATS_BYTES = 256 * 1024 * 1024;

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${n} bytes`;
}

/** Lists the tensors of `path` (with statistics when `options.stats`) and its FFN layers. */
export async function inspectFile(path: string, options: InspectOptions): Promise<InspectResult> {
  const source = await openSource(path);
  try {
    const tensors: InspectedTensor[] = [];
    let statsSkipped: string | undefined;
    const only = options.tensors && new Set(options.tensors);
    const listed = only ? source.tensors.filter((t) => only.has(t.name)) : source.tensors;
    if (options.stats && options.maxStatsBytes !== undefined) {
      const total = listed.reduce((sum, t) => sum + (t.byteLength ?? 4 * t.shape.reduce((a, b) => a * b, 1)), 0);
      if (total > options.maxStatsBytes) {
        statsSkipped = `statistics skipped: the tensors hold ${formatBytes(total)}, over the ${formatBytes(options.maxStatsBytes)} limit (pass --stats to read them all)`;
      }
    }
    for (const info of listed) {
      const t: InspectedTensor = { name: info.name, dtype: info.dtype, shape: [...info.shape] };
      if (info.byteLength !== undefined) t.byteLength = info.byteLength;
      if (options.stats && statsSkipped === undefined) {
        if (options.signal?.aborted) throw new FfnLensError('cancelled', source.path, 'cancelled');
        const bytes = 4 * info.shape.reduce((a, b) => a * b, 1);
        if (options.memoryBudgetBytes !== undefined && bytes > options.memoryBudgetBytes) {
          t.statsError = `${bytes} bytes as float32, over the memory budget of ${options.memoryBudgetBytes} bytes`;
        } else {
          try {
            t.stats = tensorStats(await source.read(info.name, { signal: options.signal }));
          } catch (e) {
            // A tensor we cannot decode (an unsupported dtype...) should not hide the others.
            if (!isFfnLensError(e) || e.kind === 'cancelled') throw e;
            t.statsError = e.message;
          }
        }
      }
      tensors.push(t);
    }
    let layers: LayerSpec[] = [];
    let layersError: string | undefined;
    try {
      layers = findLayers(source.tensors, source.hints, source.path);
    } catch (e) {
      if (!isFfnLensError(e)) throw e;
      layersError = e.message;
    }
    const problems = [...(source.problems ?? [])];
    const result: InspectResult = { file: source.path, format: source.format, tensors, layers, metadata: { ...source.metadata }, problems };
    if (layersError !== undefined) result.layersError = layersError;
    if (statsSkipped !== undefined) result.statsSkipped = statsSkipped;
    return result;
  } finally {
    await source.close();
  }
}

