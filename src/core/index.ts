/** The FFN core's public surface, for the extension, the worker and the CLI. No `vscode` import. */
export * from './types';
export * from './errors';
export * from './activations';
export * from './gemm';
export * from './ffn';
export * from './analyze';
export * from './stats';
export * from './inputs';
export * from './dtype';
