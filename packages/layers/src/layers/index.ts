// The class API: one Module per function of F, with PyTorch's constructor arguments, defaults,
// parameter names and initialisation; one file per kind of layer.
export { Conv2d, type Conv2dOptions } from './conv';
export { Linear, Identity } from './linear';
export { BatchNorm2d, LocalResponseNorm, type BatchNormOptions } from './norm';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling';
export {
  ReLU,
  ReLU6,
  LeakyReLU,
  ELU,
  Sigmoid,
  Tanh,
  GELU,
  SiLU,
  Hardsigmoid,
  Hardswish,
  Softmax,
  LogSoftmax,
} from './activation';
export { Flatten, ChannelShuffle, Dropout } from './shape';
export { permute } from './permute';
