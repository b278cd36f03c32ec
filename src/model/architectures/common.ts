/**
 * Pieces every architecture table shares: the activation named by a config, RoPE scaling, and
 * the set of tensor names the files hold. No `vscode` import.
 */
import { parseActivation } from '../../core/activations';
import { FfnLensError } from '../../core/errors';
import type { ActivationName } from '../../core/types';
import type { ConfigFields } from '../config';
import type { Llama3Scaling, LinearScaling } from '../spec';

/** The tensor names a model's files hold. */
export type TensorNames = ReadonlySet<string>;

/** The activation a config names (`gelu_new`, `gelu_pytorch_tanh`, `silu`...), refused by name when unknown. */
export function activationOf(c: ConfigFields, key: string, fallback: string): ActivationName {
  const text = c.string(key, fallback) as string;
  const name = parseActivation(text);
  if (!name) throw new FfnLensError(`config.json: ${key} = "${text}" is an activation FFN Lens does not know`, c.file);
  return name;
}

/** `rope_scaling` of a Hugging Face config: llama3 or linear; any other kind is refused by name. */
export function ropeScalingOf(c: ConfigFields): Llama3Scaling | LinearScaling | undefined {
  const raw = c.raw('rope_scaling');
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new FfnLensError('config.json: rope_scaling must be an object', c.file);
  const r = raw as Record<string, unknown>;
  const kind = String(r.rope_type ?? r.type ?? '');
  const num = (key: string, fallback?: number): number => {
    const v = r[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new FfnLensError(`config.json: rope_scaling.${key} = ${JSON.stringify(r[key])} cannot be right (expected a number > 0)`, c.file);
    return v;
  };
  if (kind === 'default') return undefined;
  if (kind === 'linear') return { kind: 'linear', factor: num('factor') };
  if (kind === 'llama3') {
    const s: Llama3Scaling = {
      kind: 'llama3',
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor', 1),
      highFreqFactor: num('high_freq_factor', 4),
      originalMaxPositions: num('original_max_position_embeddings', 8192),
    };
    if (s.highFreqFactor <= s.lowFreqFactor) throw new FfnLensError('config.json: rope_scaling.high_freq_factor must be above low_freq_factor', c.file);
    return s;
  }
  throw new FfnLensError(`config.json: rope_scaling type "${kind}" is not supported (supported: llama3, linear)`, c.file);
}
