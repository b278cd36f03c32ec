/**
 * Messages between the extension host and the weight-file viewer's webview (the custom read-only
 * editor for .safetensors/.npy/.npz/.gguf), in two unions. The host lists a file from its header
 * alone; statistics are computed one tensor at a time when the webview asks. The webview is not
 * trusted: every message it sends goes through `parseViewerMessage` before use, and the host
 * still checks names against the file. No `vscode` import.
 */
import type { TensorStats } from '../core/types';
import type { WeightFormat } from '../formats/source';

/** One row of the tensor table, from the header only. */
export interface ViewerTensor {
  /** Position in the file's own order (the table's default sort). */
  index: number;
  name: string;
  dtype: string;
  /** Row-major shape as the reader reports it (GGUF: ne reversed). */
  shape: number[];
  /** Product of the shape. */
  elements: number;
  /** Bytes the tensor occupies in the file; null when neither the reader nor the dtype says. */
  bytes: number | null;
  /** Its part in a detected FFN layer, e.g. `W1 · h.0.mlp`, `gate · blk.3`. */
  role?: string;
}

/** One FFN layer found in the file. */
export interface ViewerLayer {
  /** The id the CLI and the explorer panel share (`h.0.mlp`, `blk.3`...). */
  id: string;
  kind: 'plain' | 'gated';
  activation: string;
  /** Where the activation came from: file, config, architecture, default... */
  activationSource: string;
  dModel: number;
  dFf: number;
  convention: string;
}

/** One metadata entry, already shortened for display. */
export interface ViewerMetadataEntry {
  key: string;
  value: string;
}

/** Statistics of one tensor, or why there are none. */
export type StatsOutcome = { ok: true; stats: TensorStats; ms: number } | { ok: false; error: string };

/** Everything the viewer shows for one file. */
export interface ViewerView {
  fileName: string;
  format: WeightFormat;
  /** Size of the file on disk. */
  fileBytes: number;
  /** The entries shown in the header line (GGUF general.architecture..., safetensors __metadata__ keys). */
  headline: ViewerMetadataEntry[];
  /** Every metadata entry (at most MAX_METADATA_ENTRIES), for the expandable list. */
  metadata: ViewerMetadataEntry[];
  /** How many metadata entries the file has (may exceed `metadata.length`). */
  metadataCount: number;
  tensors: ViewerTensor[];
  layers: ViewerLayer[];
  /** Why no layer was found, when none was. */
  layersNote?: string;
  /** Statistics computed so far (kept by the host, so a reloaded webview shows them again). */
  stats: Record<string, StatsOutcome>;
  /** Milliseconds from opening to the listing (header only). */
  listMs: number;
}

/** Messages the host posts to the viewer webview. */
export type HostToViewer =
  /** The file is being (re)read: show a placeholder. */
  | { type: 'loading'; fileName: string }
  /** The file's listing: draw the header line, the layers and the tensor table. */
  | { type: 'view'; view: ViewerView }
  /** The file cannot be read: show `message` (describeError's text) in place of the table. */
  | { type: 'error'; fileName: string; message: string }
  /** Statistics of one tensor arrived (or failed). */
  | { type: 'stats'; name: string; outcome: StatsOutcome };

/** Messages the viewer webview posts to the host. */
export type ViewerToHost =
  /** The webview loaded and listens; always the first message (again after a reload). */
  | { type: 'ready' }
  /** Compute statistics of this tensor. */
  | { type: 'stats'; name: string }
  /** Open the FFN explorer panel on this layer. */
  | { type: 'explore'; layer: string }
  /** The table is drawn with `rows` rows (after filtering), `ms` after the view arrived. */
  | { type: 'rendered'; rows: number; ms: number }
  /** An error inside the webview, for the output channel. */
  | { type: 'log'; message: string };

/** Longest tensor name or layer id the webview may send (the host also checks it exists). */
export const MAX_NAME_LENGTH = 4096;
/** Metadata entries sent to the webview at most (GGUF files can carry hundreds). */
export const MAX_METADATA_ENTRIES = 500;
const MAX_LOG = 2000;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH;
}

/** The message if `raw` is a well-formed ViewerToHost, else undefined (the host then ignores it). */
export function parseViewerMessage(raw: unknown): ViewerToHost | undefined {
  if (!isObj(raw) || typeof raw.type !== 'string') return undefined;
  const type = raw.type as ViewerToHost['type'];
  switch (type) {
    case 'ready':
      return { type };
    case 'stats':
      return isName(raw.name) ? { type, name: raw.name } : undefined;
    case 'explore':
      return isName(raw.layer) ? { type, layer: raw.layer } : undefined;
    case 'rendered':
      if (typeof raw.rows !== 'number' || !Number.isInteger(raw.rows) || raw.rows < 0) return undefined;
      if (typeof raw.ms !== 'number' || !Number.isFinite(raw.ms)) return undefined;
      return { type, rows: raw.rows, ms: raw.ms };
    case 'log':
      return typeof raw.message === 'string' ? { type, message: raw.message.slice(0, MAX_LOG) } : undefined;
    default: {
      const never: never = type;
      void never;
      return undefined;
    }
  }
}

/** What the webview keeps with setState, so a hidden-then-shown editor keeps its place. */
export interface ViewerState {
  filter: string;
  sort: { column: SortColumn; descending: boolean };
  scrollTop: number;
}

/** Columns of the tensor table that sort (the statistics ones put tensors without statistics last). */
export type SortColumn =
  | 'index'
  | 'name'
  | 'dtype'
  | 'shape'
  | 'elements'
  | 'bytes'
  | 'role'
  | 'mean'
  | 'std'
  | 'min'
  | 'max'
  | 'zeros'
  | 'nonFinite';

export const SORT_COLUMNS: readonly SortColumn[] = ['index', 'name', 'dtype', 'shape', 'elements', 'bytes', 'role', 'mean', 'std', 'min', 'max', 'zeros', 'nonFinite'];
