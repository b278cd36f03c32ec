/**
 * From an inspection (header only) to what the viewer draws: rows with element counts, byte sizes
 * and layer roles, the layers, and metadata shortened for display. Pure: no `vscode` import, no
 * file access, so it costs milliseconds even for the 10k tensors of a large GGUF.
 */
import type { InspectResult } from '../../protocol/run';
import { MAX_METADATA_ENTRIES, ViewerLayer, ViewerMetadataEntry, ViewerTensor, ViewerView } from '../../protocol/viewer';
import { ggmlType } from '../../formats/ggmlQuants';
import { tensorRoles } from '../../layers/roles';

/** Element bytes of the dtype names safetensors uses. */
const SAFETENSORS_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
};

/** ggml types by name: [elements per block, bytes per block]. */
const GGML_BLOCKS = new Map<string, [number, number]>();
for (let id = 0; id < 64; id++) {
  const t = ggmlType(id);
  if (t) GGML_BLOCKS.set(t.name, [t.blockSize, t.typeSize]);
}

/** Bytes a tensor of `dtype` with `elements` elements takes, or null when the dtype is unknown. */
export function estimateBytes(dtype: string, elements: number): number | null {
  const plain = SAFETENSORS_BYTES[dtype];
  if (plain !== undefined) return plain * elements;
  const block = GGML_BLOCKS.get(dtype);
  if (block) return Math.ceil(elements / block[0]) * block[1];
  const npy = /^[<>|=]?[a-zA-Z](\d+)$/.exec(dtype); // numpy descr: <f4, >i8, |b1...
  if (npy) return Number(npy[1]) * elements;
  return null;
}


const MAX_VALUE_CHARS = 160;

function clip(s: string, max = MAX_VALUE_CHARS): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A metadata value as one short line: arrays summarised, long strings cut. */
export function metadataValue(v: unknown): string {
  if (typeof v === 'string') return clip(v.replace(/\s+/g, ' '));
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) {
    const head = v.slice(0, 8).map((x) => (typeof x === 'string' ? JSON.stringify(x) : metadataValue(x)));
    return clip(`[${head.join(', ')}${v.length > 8 ? `, … ${v.length} items` : ''}]`);
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // GGUF's summary of a long array (tokenizer.ggml.tokens...).
    if (typeof o.arrayOf === 'string' && typeof o.length === 'number') return `[${o.length} × ${o.arrayOf}]`;
    try {
      return clip(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
    } catch {
      return '[object]';
    }
  }
  return clip(String(v));
}

/** GGUF keys worth a place in the header line, in order; `{arch}` is general.architecture. */
const GGUF_HEADLINE = [
  'general.architecture',
  'general.name',
  'general.size_label',
  'general.file_type',
  '{arch}.block_count',
  '{arch}.embedding_length',
  '{arch}.feed_forward_length',
  '{arch}.context_length',
];

/** The few entries for the header line: GGUF's identity keys, or the first safetensors __metadata__ keys. */
export function headline(format: string, metadata: Readonly<Record<string, unknown>>): ViewerMetadataEntry[] {
  if (format === 'gguf') {
    const arch = typeof metadata['general.architecture'] === 'string' ? (metadata['general.architecture'] as string) : '';
    return GGUF_HEADLINE.map((k) => k.replace('{arch}', arch))
      .filter((k) => metadata[k] !== undefined)
      .map((key) => ({ key, value: metadataValue(metadata[key]) }));
  }
  return Object.keys(metadata)
    .slice(0, 6)
    .map((key) => ({ key, value: metadataValue(metadata[key]) }));
}

/** Bytes of each tensor when the inspection carries them (readers know; the shared type may not say). */
function reportedBytes(t: object): number | undefined {
  const b = (t as { byteLength?: unknown }).byteLength;
  return typeof b === 'number' && Number.isFinite(b) && b >= 0 ? b : undefined;
}

/** Everything the viewer shows, from an inspection without statistics. */
export function buildView(r: InspectResult, fileName: string, fileBytes: number, listMs: number): ViewerView {
  const roles = tensorRoles(r.layers);
  const tensors: ViewerTensor[] = r.tensors.map((t, index) => {
    let elements = 1;
    for (const d of t.shape) elements *= d;
    const row: ViewerTensor = {
      index,
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      elements,
      bytes: reportedBytes(t) ?? estimateBytes(t.dtype, elements),
    };
    const role = roles.get(t.name);
    if (role) row.role = role;
    return row;
  });
  const layers: ViewerLayer[] = r.layers.map((l) => ({
    id: l.id,
    kind: l.kind,
    activation: l.activation,
    activationSource: l.activationSource,
    dModel: l.dModel,
    dFf: l.dFf,
    convention: l.convention,
  }));
  const keys = Object.keys(r.metadata);
  const view: ViewerView = {
    fileName,
    format: r.format,
    fileBytes,
    headline: headline(r.format, r.metadata),
    metadata: keys.slice(0, MAX_METADATA_ENTRIES).map((key) => ({ key, value: metadataValue(r.metadata[key]) })),
    metadataCount: keys.length,
    tensors,
    layers,
    stats: {},
    listMs,
  };
  if (r.layersError !== undefined) view.layersNote = r.layersError;
  else if (layers.length === 0) view.layersNote = 'no FFN layer found';
  return view;
}
