// Converting whole state dicts between PyTorch's layouts (OIHW conv weights, [out, in] linear weights,
// C-H-W flatten order) and this library's (HWIO, [in, out], H-W-C), using each owning module's rules.
import type { Module, HostTensor, LoadOptions, LoadResult } from './module';
import { hostTensorProblem } from './host-tensor';

/** Maps a checkpoint's key to this model's key, or to null to drop it (MMPretrain's `backbone.` prefix, timm's names). */
export type KeyMap = (key: string) => string | null;

function owners(model: Module): Map<string, { module: Module; local: string; rank: number }> {
  const out = new Map<string, { module: Module; local: string; rank: number }>();
  for (const [prefix, m] of model.namedModules()) {
    for (const [local, v] of m.ownState())
      out.set(prefix ? `${prefix}.${local}` : local, { module: m, local, rank: v.rank });
  }
  return out;
}

/**
 * Loads a state dict in PyTorch's layouts (float32 host tensors by PyTorch key) into `model`: keys go through
 * `keyMap`, each tensor is converted by the module that owns it ({@link fromTorchState}), then
 * {@link Module.loadStateDict} checks names and shapes and reports every problem by name; as with `loadStateDict`,
 * a failed load changes nothing.
 */
export function loadTorchState(
  model: Module,
  dict: Map<string, HostTensor>,
  opts: LoadOptions & { keyMap?: KeyMap } = {},
): LoadResult {
  return model.loadStateDict(fromTorchState(model, dict, opts.keyMap), opts);
}

/**
 * A state dict in PyTorch's layouts and keys as `model`'s own: keys go through `keyMap`, each tensor is converted by
 * the module that owns it. A value that is malformed (data not matching its shape) or of another rank than the
 * model's tensor is passed on unconverted, so that the load's error names it with the file's shape. Nothing is
 * checked or changed here: {@link Module.checkStateDict} / {@link Module.loadStateDict} do that.
 */
export function fromTorchState(model: Module, dict: Map<string, HostTensor>, keyMap?: KeyMap): Map<string, HostTensor> {
  const own = owners(model);
  const converted = new Map<string, HostTensor>();
  for (const [key, t] of dict) {
    const k = keyMap ? keyMap(key) : key;
    if (k === null) continue;
    const o = own.get(k);
    const convertible = o !== undefined && hostTensorProblem(t) === null && t.shape.length === o.rank;
    converted.set(k, convertible ? o.module.fromTorchLayout(o.local, t) : t);
  }
  return converted;
}

/** The model's state in PyTorch's layouts and keys, as float32 host tensors (for saving a checkpoint PyTorch can read). */
export function torchState(model: Module): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [prefix, m] of model.namedModules()) {
    for (const [local, v] of m.ownState()) {
      const t: HostTensor = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as ArrayLike<number>) };
      out.set(prefix ? `${prefix}.${local}` : local, m.toTorchLayout(local, t));
    }
  }
  return out;
}
