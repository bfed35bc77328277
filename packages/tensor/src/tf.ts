// The one tfjs-core instance every cnn package uses, with every gradient and chained op registered.
// Node's CJS bundle of tfjs-core registers neither; importing these two side-effect modules fixes that
// (the Node build inlines them; tfjs keeps its engine on globalThis, so they register into the same one).
import './tfjs-core-first';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, DataType } from '@tensorflow/tfjs-core';
