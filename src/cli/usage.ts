/** The `--help` text. Kept beside the parser so the two stay in step. */
import { ACTIVATIONS } from '../core/types';

export const USAGE = `ffn-lens: run a transformer's feed-forward (FFN/MLP) layer from a weight file

Usage:
  ffn-lens inspect <file> [--json] [--stats | --no-stats]
  ffn-lens run <file> [--layer ID] [--activation NAME] [--inputs FILE]
                      [--random T] [--seed N] [--top-k K] [--threshold X] [--json] [--full]
                      [--engine auto|wasm|ts]
  ffn-lens run <model> (--text S | --text-file F | --ids 1,2,3) --layer L
                      [--predict K] [--ablate i,j,...] [--truncate] [--top-k K]
                      [--threshold X] [--json] [--full] [--engine auto|wasm|ts]
  ffn-lens tokenize <model> (--text S | --text-file F) [--json]
  ffn-lens neuron <model> --layer L --neuron I [--top K] [--raw] [--json]
  ffn-lens scan <model> --layer L --corpus DIR|FILE... [--ctx N] [--top K]
                      [--neurons i,j,... | --all] [--threshold X] [--json]
  ffn-lens search <model> --token T [--layer L | --all-layers] [--top K] [--scan F] [--json]
  ffn-lens score <model> (--text S | --text-file F) [--ctx N] [--json] [--engine auto|wasm|ts]
  ffn-lens compare <modelA> <modelB> (--text S | --text-file F | --ids 1,2,3) [--layers all|L,...]
                      [--top K] [--truncate] [--threshold X] [--json] [--engine auto|wasm|ts]
  ffn-lens compare <modelA> <modelB> --weights [--layers all|L,...] [--top K] [--json]
  ffn-lens --help | --version

<model> is a Hugging Face folder (config.json, model.safetensors or shards, tokenizer.json),
a .safetensors file inside one, or a .gguf file (its vocabulary is in its metadata).

Commands:
  inspect   list the tensors (dtype, shape, statistics) and the FFN layers found
  run       run one FFN layer per token: sparsity, norms, top neurons, dead neurons;
            with --text/--text-file/--ids, a whole model: the text through the earlier
            blocks to block L's FFN (L from 0), and with --predict the next tokens
  tokenize  the model's own tokenization of a text: ids, tokens, character offsets
  neuron    what a unit writes (tokens it promotes / suppresses) and reads (tokens it responds to)
  scan      a corpus through the model to block L: each unit's top examples, density, histogram
  search    the units that promote a token most (and, with --scan F, fire on it)
  score     the model's mean next-token loss (nats) and perplexity on a text, in windows of
            --ctx tokens (default: the model's context), each run alone; a window's first
            token is not predicted. Check it against what your training code reports.
  compare   two checkpoints of one model (a quantisation, a fine-tune) on the same tokens: per
            block, the relative error of B's FFN output and hidden activations against A's,
            each one's sparsity, the overlap of the top-K units per token, the units whose
            activity changed most; the next tokens of each and KL(A||B). With --weights, each
            FFN matrix's relative difference and its most changed units, a block at a time.

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

Options for a model run:
  --text S / --text-file F / --ids 1,2,3   the input (text goes through the model's tokenizer)
  --layer L          the block whose FFN is shown (required)
  --predict K        also run the rest of the model: the K most likely next tokens
  --ablate i,j       zero these hidden units of block L; next (ablated) beside nextBaseline
  --truncate         keep the last tokens that fit the model's context
  --full             with --json: also input, preActivation (the gate), up, hidden, residual

Without --inputs or --random, run uses the file's own "inputs", else 8 random tokens (seed 0).
Exit status: 0 ok, 1 bad input (the weight or inputs file), 2 bad usage (command, options, --layer choice).
`;
