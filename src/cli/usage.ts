/** The `--help` text. Kept beside the parser so the two stay in step. */
import { ACTIVATIONS } from '../core/types';

export const USAGE = `ffn-lens: run a transformer's feed-forward (FFN/MLP) layer from a weight file

Usage:
  ffn-lens inspect <file> [--json] [--stats | --no-stats]
  ffn-lens run <file> [--layer ID] [--activation NAME] [--inputs FILE]
                      [--random T] [--seed N] [--top-k K] [--threshold X] [--json] [--full]
                      [--engine auto|wasm|ts]
  ffn-lens --help | --version

Commands:
  inspect   list the tensors (dtype, shape, statistics) and the FFN layers found
  run       run one FFN layer per token: sparsity, norms, top neurons, dead neurons

Options for inspect:
  --stats            always compute statistics (reads every tensor)
  --no-stats         header only: names, dtypes, shapes, layers
                     (default: statistics unless the tensors hold over 256 MB)

Options for run:
  --layer ID         layer id (e.g. h.3.mlp) or 0-based index; default: the first layer
  --activation NAME  override the activation: ${ACTIVATIONS.join(', ')}
  --inputs FILE      inputs: JSON {"tokens"?: [...], "inputs": T x d_model} or a .npy T x d_model array
  --random T         T seeded N(0,1) input vectors labelled t0..t{T-1}
  --seed N           seed for --random (default 0)
  --top-k K          neurons listed per token (ranked by |hidden_i| x ||row i of W2||)
  --threshold X      sparsity threshold for smooth activations (relu/reglu use exact zero)
  --json             print one JSON object on stdout
  --full             with --json: also preActivation and hidden (T x d_ff each)
  --engine E         compute path: auto (default: WebAssembly SIMD kernels on every core when
                     this Node has them, else TypeScript), wasm (fail if unavailable), ts

Without --inputs or --random, run uses the file's own "inputs", else 8 random tokens (seed 0).
Exit status: 0 ok, 1 bad input (the weight or inputs file), 2 bad usage (command, options, --layer choice).
`;
