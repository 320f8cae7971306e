/**
 * FLOPs of one input row through a tfjs LayersModel, layer by layer (the explainer's cost model,
 * explainer/cost.ts): Dense 2·in·out + out, Conv1D/Conv2D 2·(output positions)·(kernel)·cin·cout +
 * bias, DepthwiseConv2D 2·(outputs)·(kernel), pooling (outputs)·(pool), global pooling (inputs),
 * Embedding/Flatten/Reshape/Dropout 0, normalisation 5 and other layers 1 per output element, plus
 * the activation's cost per output element (relu 1, sigmoid/tanh 4, softmax 5, gelu 10).
 */
import * as tf from '@tensorflow/tfjs';

const ACTIVATION_COST: Record<string, number> = { linear: 0, relu: 1, relu6: 1, elu: 3, selu: 3, sigmoid: 4, tanh: 4, softmax: 5, softplus: 4, softsign: 3, gelu: 10, swish: 5, mish: 8 };
const prod = (a: (number | null)[]) => a.reduce<number>((x, y) => x * (y ?? 1), 1);

/** FLOPs of one input row through a LayersModel (per-layer rules above; batch dimension dropped). */
export function modelFlops(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const outShape = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as (number | null)[];
    const input = layer.inboundNodes.length ? (layer.input as tf.SymbolicTensor | tf.SymbolicTensor[]) : undefined;
    const inShape = (Array.isArray(input) ? input[0]?.shape : input?.shape) as (number | null)[] | undefined;
    const outElems = prod(outShape.slice(1));
    const act = typeof cfg.activation === 'string' ? (ACTIVATION_COST[cfg.activation] ?? 1) : 0;
    switch (cls) {
      case 'Dense': {
        const inUnits = inShape?.[inShape.length - 1] ?? 0;
        const units = Number(cfg.units);
        total += (2 * inUnits * units + units) * (outElems / units) + act * outElems;
        break;
      }
      case 'Conv2D':
      case 'Conv1D': {
        const k = (cfg.kernelSize as number[]) ?? [1];
        const cin = inShape?.[inShape.length - 1] ?? 1;
        const spatial = outElems / Number(cfg.filters);
        total += 2 * spatial * prod(k) * cin * Number(cfg.filters) + outElems + act * outElems;
        break;
      }
      case 'DepthwiseConv2D': {
        const k = (cfg.kernelSize as number[]) ?? [1];
        total += 2 * outElems * prod(k) + outElems + act * outElems;
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
      case 'MaxPooling1D':
      case 'AveragePooling1D':
        total += outElems * prod((cfg.poolSize as number[]) ?? [1]);
        break;
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D':
        total += prod((inShape ?? []).slice(1));
        break;
      case 'InputLayer':
      case 'Flatten':
      case 'Reshape':
      case 'Dropout':
      case 'Embedding':
        break;
      case 'BatchNormalization':
      case 'LayerNormalization':
        total += 5 * outElems;
        break;
      case 'Activation':
        total += act * outElems;
        break;
      default:
        total += outElems;
    }
  }
  return total;
}

