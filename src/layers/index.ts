/** The layers API: find the FFN layers in a source, pick one, load it in the core layout. No `vscode` import. */
export { findLayers, selectLayer, type FindOptions } from './find';
export { loadLayer, transpose, type LoadOptions } from './load';
export { CONVENTIONS, architectureActivation, checkActivation, fitActivation, parseLayout, type Convention } from './conventions';
export type { LayerSpec, MatrixLayout } from './types';
