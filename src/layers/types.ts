import type { ActivationName } from '../core/types';

/**
 * How a matrix is stored in the file:
 *  - `in_out`: [in, out] (math x·W, also GPT-2 Conv1D),
 *  - `out_in`: [out, in] (torch nn.Linear, GGUF after reversing ne).
 */
export type MatrixLayout = 'in_out' | 'out_in';

/** One FFN layer found in a file, by names and shapes. Shared by the CLI and the UI. */
export interface LayerSpec {
  /** Stable id shared by CLI `--layer` and the UI: the common name prefix without trailing dot
   * (`h.3.mlp`, `model.layers.3.mlp`, `blk.3`), or `main` for an unprefixed layer. */
  id: string;
  /** 0-based position among the file's layers (CLI `--layer 0` also works). */
  index: number;
  kind: 'plain' | 'gated';
  activation: ActivationName;
  /** Where the activation came from. */
  activationSource: 'file' | 'config' | 'architecture' | 'default' | 'override';
  dModel: number;
  dFf: number;
  /** Naming convention recognised: `W1/W2`, `linear1/linear2`, `c_fc/c_proj`, `fc1/fc2`, `wi/wo`,
   * `intermediate/output`, `dense_h_to_4h/dense_4h_to_h`, `gate/up/down`, `ffn_gate/up/down`... */
  convention: string;
  /** Tensor names in the source. For gated layers w1 is the up projection. */
  tensors: { w1: string; b1?: string; w2: string; b2?: string; gate?: string; bGate?: string };
  layouts: { w1: MatrixLayout; w2: MatrixLayout; gate?: MatrixLayout };
}
