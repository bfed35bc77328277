// Loading and saving a model's weights as files: PyTorch's .pth / .pt (read) and safetensors (read and write), in
// PyTorch's layouts by default so files go both ways between this library and PyTorch.
import type { HostTensor, LoadOptions, LoadResult, Module } from './module';
import { fromTorchState, torchState, type KeyMap } from './torch-layout';
import { readCheckpoint, writeSafetensors, toFloat32StateDict, type RawTensor } from './checkpoint';

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions extends LoadOptions {
  /**
   * Layout of the file's tensors: 'torch' (PyTorch's: OIHW convolutions, [out, in] linear weights; what torchvision,
   * timm and MMPretrain save, and what {@link saveWeights} writes) or 'cnn' (this library's own). Default: 'cnn' when
   * the safetensors metadata says `layout: cnn`, else 'torch'.
   */
  from?: 'torch' | 'cnn';
  /** Renames (or, returning null, drops) the file's keys: MMPretrain's `backbone.` prefix, timm's names. */
  keyMap?: KeyMap;
}

/**
 * Loads weights into `model` from a checkpoint file (a path, in Node) or its bytes: a PyTorch `.pth` / `.pt` state
 * dict (or a training checkpoint holding one under 'state_dict' / 'model'), or safetensors (a training checkpoint of
 * `@cnn/train` included: its optimizer buffers are left out). Layouts are converted
 * on the way; every missing, unexpected or mis-shaped key is reported by name.
 *
 * Errors are `CheckpointError`s, and a failed load changes nothing: the file is read and checked whole (only a
 * regular file is read from a path; the formats' limits are in the package README), then every tensor is checked
 * against the model before the first one is assigned.
 *
 * @example
 * await loadWeights(net, 'resnet18-f37072fd.pth');                       // torchvision's file
 * await loadWeights(net, bytes, { keyMap: mmpretrainKeys() });            // MMPretrain's 'backbone.' / 'head.' names
 */
export async function loadWeights(
  model: Module,
  source: Uint8Array | ArrayBuffer | string,
  opts: LoadWeightsOptions = {},
): Promise<LoadResult> {
  return model.loadStateDict(await modelState(model, source, opts), opts);
}

/** What {@link checkWeights} found: what {@link loadWeights} would do, and the tensors it would load. */
export interface CheckedWeights extends LoadResult {
  /**
   * The file's tensors in this library's layouts under the model's keys (after `from` and `keyMap`): what
   * `model.loadStateDict(state, opts)` loads, with the same options, without reading the file again.
   */
  state: Map<string, HostTensor>;
}

/**
 * Reads and checks weights for `model` exactly as {@link loadWeights} does, without changing the model: the file is
 * read and checked whole, then every tensor against the model (`Module.checkStateDict`). Throws the
 * `CheckpointError` that `loadWeights` would throw. Meant for restoring several things at once (weights, optimizer,
 * schedule) where nothing may change unless everything is valid: check all, then apply
 * (`model.loadStateDict(checked.state, opts)`).
 */
export async function checkWeights(
  model: Module,
  source: Uint8Array | ArrayBuffer | string,
  opts: LoadWeightsOptions = {},
): Promise<CheckedWeights> {
  const state = await modelState(model, source, opts);
  return { ...model.checkStateDict(state, opts), state };
}

/** The file's tensors as `model`'s state dict: optimizer state left out, float32, layouts converted, keys mapped. */
async function modelState(
  model: Module,
  source: Uint8Array | ArrayBuffer | string,
  opts: LoadWeightsOptions,
): Promise<Map<string, HostTensor>> {
  const ckpt = await readCheckpoint(source);
  if (ckpt.metadata[TRAINING_CHECKPOINT_KEY] !== undefined) {
    for (const k of [...ckpt.tensors.keys()]) if (k.startsWith(TRAINING_STATE_PREFIX)) ckpt.tensors.delete(k);
  }
  const dict = toFloat32StateDict(ckpt.tensors) as Map<string, HostTensor>;
  const from = opts.from ?? (ckpt.metadata.layout === 'cnn' ? 'cnn' : 'torch');
  if (from === 'torch') return fromTorchState(model, dict, opts.keyMap);
  const renamed = new Map<string, HostTensor>();
  for (const [k, v] of dict) {
    const key = opts.keyMap ? opts.keyMap(k) : k;
    if (key !== null) renamed.set(key, v);
  }
  return renamed;
}

// A training checkpoint of @cnn/train marks its header with this key and keeps the optimizer's buffers under this
// prefix; loading it as weights leaves those out.
const TRAINING_CHECKPOINT_KEY = 'cnn.training';
const TRAINING_STATE_PREFIX = '__optimizer__/';

/** Options of {@link saveWeights}. */
export interface SaveWeightsOptions {
  /** 'torch' (default: PyTorch's layouts, loadable by `safetensors.torch.load_file` + `load_state_dict`) or 'cnn'. */
  to?: 'torch' | 'cnn';
  /** Extra string metadata to store in the file's header. */
  metadata?: Record<string, string>;
}

/** The model's parameters and buffers as safetensors bytes, keys as in its state dict. */
export function saveWeights(model: Module, opts: SaveWeightsOptions = {}): Uint8Array {
  const to = opts.to ?? 'torch';
  const host =
    to === 'torch'
      ? torchState(model)
      : new Map(
          [...model.stateDict()].map(([k, v]) => [
            k,
            { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as ArrayLike<number>) },
          ]),
        );
  const dtypes = new Map([...model.stateDict()].map(([k, v]) => [k, v.dtype]));
  const tensors = new Map<string, RawTensor>();
  for (const [k, t] of host) {
    tensors.set(
      k,
      dtypes.get(k) === 'int32'
        ? { dtype: 'int64', shape: t.shape, data: BigInt64Array.from(t.data, (x) => BigInt(Math.round(x))) }
        : { dtype: 'float32', shape: t.shape, data: t.data },
    );
  }
  return writeSafetensors(tensors, { ...opts.metadata, layout: to, format: 'pt' });
}

/** Options of {@link mmpretrainKeys}. */
export interface MmpretrainKeyOptions {
  /** Where MMPretrain's classification head `head.fc.` goes (default 'fc.'). */
  head?: string;
  /**
   * Rename MMPretrain's squeeze-and-excitation layers (`se_layer.conv1.conv.*`, `se_layer.conv2.conv.*`: mmcv
   * ConvModules) to this library's `SEModule` under `se` (`se.fc1.*`, `se.fc2.*`), as in SE-ResNet. Default false.
   */
  seLayer?: boolean;
}

/**
 * A key map for MMPretrain checkpoints: drops the `backbone.` prefix and maps the classification head's
 * `head.fc.` to `head` (default 'fc.'; a string argument is the same as `{ head }`). Keys of other parts (necks, data
 * preprocessors) are dropped. With `seLayer`, SE-ResNet's SE layers are renamed too.
 */
export function mmpretrainKeys(opts: string | MmpretrainKeyOptions = {}): KeyMap {
  const { head = 'fc.', seLayer = false } = typeof opts === 'string' ? { head: opts } : opts;
  return (k) => {
    if (k.startsWith('head.fc.')) return head + k.slice('head.fc.'.length);
    if (!k.startsWith('backbone.')) return null;
    const key = k.slice('backbone.'.length);
    return seLayer ? key.replace(/\.se_layer\.conv([12])\.conv\./, '.se.fc$1.') : key;
  };
}
