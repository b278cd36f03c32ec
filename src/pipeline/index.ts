/** The jobs the CLI, the worker and the extension run: a layer, or an inspection of a file. */
export { runLayer, estimateRunBytes, checkBudget, resolveActivation, type RunOptions, type RunEstimate } from './runLayer';
export { DEFAULT_MAX_STATS_BYTES, inspectFile, type InspectOptions } from './inspect';
export { planInputs, DEFAULT_RANDOM_TOKENS, DEFAULT_RANDOM_SEED, type InputPlan, type LoadedInputs } from './inputs';
