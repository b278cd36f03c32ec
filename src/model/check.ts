/**
 * The configuration against the files, before any weight is read: every tensor a run needs is
 * there with the shape the configuration implies, else one message naming the tensor and both
 * shapes. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { TensorSource } from '../formats/source';
import type { LinearTensors, ModelSpec, NormTensors } from './spec';

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Refuses a model whose files do not hold what its configuration says. */
export function checkModelTensors(spec: ModelSpec, source: TensorSource, configFile: string): void {
  const shapes = new Map(source.tensors.map((t) => [t.name, t.shape]));
  const { dModel, dFf, vocabSize, heads, kvHeads, headDim } = spec;
  const need = (name: string, shape: readonly number[], why = ''): void => {
    const got = shapes.get(name);
    if (!got) throw new FfnLensError(`tensor ${name} is missing from the model's files${why}`, source.path);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new FfnLensError(`tensor ${name} is ${shapeText(got)} but the configuration (${configFile}) implies ${shapeText(shape)}`, source.path);
    }
  };
  const embed = shapes.get(spec.embed);
  if (embed && embed.length === 2 && embed[0] !== vocabSize) {
    throw new FfnLensError(`the vocabulary size is ${vocabSize} but the embedding ${spec.embed} is ${shapeText(embed)}`, configFile);
  }
  need(spec.embed, [vocabSize, dModel]);
  if (!spec.tiedHead) need(spec.head, [vocabSize, dModel]);
  if (spec.positions) need(spec.positions, [spec.maxPositions, dModel]);
  // Blocks the configuration counts but the files lack: name how many there are.
  const last = spec.block(spec.layers - 1);
  if (!shapes.has(last.attnNorm.weight)) {
    let held = 0;
    while (held < spec.layers && shapes.has(spec.block(held).attnNorm.weight)) held++;
    throw new FfnLensError(`the configuration has ${spec.layers} blocks but the files hold ${held} (no ${last.attnNorm.weight})`, configFile);
  }
  const norm = (n: NormTensors): void => {
    need(n.weight, [dModel]);
    if (n.bias) need(n.bias, [dModel]);
  };
  const linear = (l: LinearTensors, inDim: number, outDim: number): void => {
    need(l.weight, l.layout === 'in_out' ? [inDim, outDim] : [outDim, inDim]);
    if (l.bias) need(l.bias, [outDim]);
  };
  norm(spec.finalNorm);
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  for (let i = 0; i < spec.layers; i++) {
    const b = spec.block(i);
    norm(b.attnNorm);
    norm(b.ffnNorm);
    if (b.qkv.kind === 'fused') linear(b.qkv.qkv, dModel, qDim + 2 * kvDim);
    else {
      linear(b.qkv.q, dModel, qDim);
      linear(b.qkv.k, dModel, kvDim);
      linear(b.qkv.v, dModel, kvDim);
    }
    linear(b.o, qDim, dModel);
    linear(b.mlp.up, dModel, dFf);
    if (b.mlp.gate) linear(b.mlp.gate, dModel, dFf);
    linear(b.mlp.down, dFf, dModel);
  }
  if (spec.rope?.freqFactors) need(spec.rope.freqFactors, [spec.rope.dims / 2]);
  if (spec.rope && (spec.rope.dims % 2 !== 0 || spec.rope.dims > headDim)) {
    throw new FfnLensError(`RoPE over ${spec.rope.dims} dimensions does not fit heads of ${headDim}`, configFile);
  }
}
