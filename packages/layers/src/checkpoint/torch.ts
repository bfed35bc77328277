// PyTorch checkpoints as torch.save writes them since 1.6: a ZIP archive holding `<archive>/data.pkl`
// (a pickle of the saved object), one `<archive>/data/<key>` per storage (raw little-endian elements),
// `<archive>/version`, and in newer releases `<archive>/byteorder` and `<archive>/.data/serialization_id`.
//
// The pickle runs in a restricted VM (./pickle) with an allow-list of globals: OrderedDict, the tensor and
// parameter rebuild functions and the storage types. Nothing is imported or executed. Any other global of `torch`,
// and any global of a module that can run code (os, subprocess, builtins, ...: CODE_MODULES), is refused before
// anything else happens to it; every other global (numpy scalars and dtypes, a config class in a checkpoint's `meta`)
// becomes an inert OpaqueObject that only records its name, and so does calling or building one. An opaque object is
// data: it can never be a storage, a tensor or a state-dict entry (each is refused by name).
import { CheckpointError } from './errors';
import { isTuple, pyRepr, pyTypeName, unpickle, type PickleLimits, type UnpicklerHooks } from './pickle';
import { clipText } from './preview';
import {
  type DType,
  type RawTensor,
  type StateDict,
  type TensorData,
  dtypeItemSize,
  formatShape,
  isRawTensor,
  shapeNumel,
  typedArrayFromBytes,
} from './types';
import { readZip, type ZipArchive } from './zip';

/** A global that the pickle named and the allow-list admitted (a storage type, or a function not yet called). */
export interface PickleGlobal {
  /** Marks this object as a global. */
  kind: 'global';
  /** Python module (`torch`). */
  module: string;
  /** Name in the module (`FloatStorage`). */
  name: string;
}

/**
 * A global outside the allow-list that the pickle only uses as data (a numpy scalar or dtype, a config class in a
 * checkpoint's `meta`), or the result of calling or building one: an inert placeholder that records the global's name.
 * Nothing is imported, resolved or called for it, and it never stands for a storage, a tensor or a state-dict entry.
 */
export interface OpaqueObject {
  /** Marks this object as a placeholder. */
  kind: 'opaque';
  /** The global's qualified name (`numpy.core.multiarray.scalar`). */
  name: string;
  /** Whether the pickle called it (REDUCE, NEWOBJ) or only named it (a class or function as a value). */
  called: boolean;
}

/** A storage that the pickle referenced but never wrapped in a tensor (rare in a checkpoint). */
export interface TorchStorage {
  /** Marks this object as a storage. */
  kind: 'storage';
  /** Element type. */
  dtype: DType;
  /** Its name in the archive (`<archive>/data/<key>`). */
  key: string;
  /** The device it was saved from (`cpu`, `cuda:0`); data is always read to the host. */
  location: string;
  /** The storage's elements (the same array as a tensor's that covers the whole storage). */
  data: TensorData;
}

/**
 * What an unpickled checkpoint is made of: `None` is null, bool boolean, int number (bigint beyond 2^53),
 * float number, str string, bytes Uint8Array, list an array, tuple a frozen array, dict (and OrderedDict)
 * a Map in insertion order, tensor a {@link RawTensor}.
 */
export type TorchValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TorchValue[]
  | readonly TorchValue[]
  | Map<TorchValue, TorchValue>
  | RawTensor
  | PickleGlobal
  | TorchStorage
  | OpaqueObject;

/** Options of {@link readTorch} and {@link readTorchObject}. */
export interface TorchReadOptions {
  /**
   * Check every entry's CRC-32 before using it (default true), so that a corrupted byte is an error and
   * never a wrong weight. Turn off only for archives written without CRCs.
   */
  verifyCrc?: boolean;
  /**
   * The most bytes all tensors together may take once materialised. Views copy their elements, so a file can
   * legitimately need more than its own size (tied weights, expanded buffers), but a crafted one could make
   * thousands of views of one large storage; this bounds that. Default: 4 times the file's size plus
   * {@link TENSOR_BYTES_ALLOWANCE}.
   */
  maxTensorBytes?: number;
  /**
   * Overrides some of the pickle VM's resource limits (integer size, nesting depth, memo size, values pushed);
   * see {@link PickleLimits} and its defaults {@link PICKLE_LIMITS}, which admit any real checkpoint.
   */
  pickleLimits?: Partial<PickleLimits>;
}

/** The fixed part of the default {@link TorchReadOptions.maxTensorBytes}: 64 MiB. */
export const TENSOR_BYTES_ALLOWANCE = 64 * 2 ** 20;

const STORAGE_TYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const CALLABLES = new Set([ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER]);

/**
 * Modules whose globals are refused outright, even as inert data: what can run code, reach the system or rebuild
 * arbitrary objects (a malicious pickle's tools). Matched on the top-level package (`os.path` is `os`).
 */
export const CODE_MODULES: ReadonlySet<string> = new Set([
  '__builtin__',
  '__builtins__',
  '__main__',
  '_io',
  '_posixsubprocess',
  '_thread',
  'asyncio',
  'builtins',
  'code',
  'codeop',
  'commands',
  'ctypes',
  'dill',
  'functools',
  'importlib',
  'io',
  'marshal',
  'multiprocessing',
  'nt',
  'operator',
  'os',
  'pathlib',
  'pdb',
  'pickle',
  '_pickle',
  'pkgutil',
  'platform',
  'posix',
  'pty',
  'runpy',
  'shutil',
  'signal',
  'socket',
  'subprocess',
  'sys',
  'tempfile',
  'threading',
  'types',
  'urllib',
  'webbrowser',
]);

// torch.save's format before 1.6 starts with a pickled magic number (protocol 2, LONG1 of 10 bytes).
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

const isGlobal = (v: unknown): v is PickleGlobal =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'global';
/** Whether a value is an {@link OpaqueObject}: an unknown global, or the result of calling or building one. */
export const isOpaque = (v: unknown): v is OpaqueObject =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'opaque';
const opaque = (name: string, called: boolean): OpaqueObject => Object.freeze({ kind: 'opaque', name, called });
const isStorage = (v: unknown): v is TorchStorage =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'storage';
const qualified = (g: PickleGlobal) => `${g.module}.${g.name}`;
const clip = (s: string) => clipText(s, 120);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A short Python-like rendering of a value for messages: `(3, 4)`, `[1, 2]`, `'x'`, `None` (bounded work). */
const show = (v: unknown): string => pyRepr(v);

function refuse(message: string, details: { entry?: string; offset?: number; key?: string } = {}): never {
  throw new CheckpointError(`torch: ${message}`, details);
}

function asBytes(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

interface OpenedArchive {
  archive: ZipArchive;
  prefix: string;
  pickleEntry: string;
}

function openArchive(bytes: Uint8Array, verifyCrc: boolean): OpenedArchive {
  if (bytes.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => bytes[i] === b)) {
    refuse(
      'this is the legacy torch.save format (PyTorch < 1.6), which is not supported; re-save it with a newer PyTorch (the zip format is the default since 1.6)',
    );
  }
  const pk =
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    (bytes[2] === 3 || bytes[2] === 5) &&
    bytes[3] === bytes[2] + 1;
  if (!pk)
    refuse(
      `not a zip archive (torch.save writes one since PyTorch 1.6; this file is ${bytes.length} bytes and does not start with 'PK')`,
    );
  const archive = readZip(bytes, 'torch zip');
  const pickles = archive.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length === 0) {
    if (archive.entries.some((e) => /(^|\/)constants\.pkl$/.test(e.name) || /^[^/]+\/code\//.test(e.name))) {
      refuse(
        'this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save model.state_dict() with torch.save instead',
      );
    }
    refuse(
      `the archive has no '<archive>/data.pkl' entry, so it is not a torch.save checkpoint (entries: ${clip(
        archive.entries
          .slice(0, 8)
          .map((e) => clip(e.name))
          .join(', '),
      )})`,
    );
  }
  if (pickles.length > 1)
    refuse(
      `the archive has ${pickles.length} '<archive>/data.pkl' entries (${clip(
        pickles
          .slice(0, 4)
          .map((e) => clip(e.name))
          .join(', '),
      )})`,
    );
  const pickleEntry = pickles[0].name;
  const prefix = pickleEntry.slice(0, -'data.pkl'.length);
  const byteorder = archive.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder('latin1').decode(archive.read(byteorder, verifyCrc)).trim();
    if (order !== 'little')
      refuse(`the archive stores its tensors in '${clip(order)}' byte order; only 'little' is supported`, {
        entry: byteorder.name,
      });
  }
  return { archive, prefix, pickleEntry };
}

/** Materialises `storage[offset + sum(i_k * stride_k)]` for every index `i` of `size`, in row-major order. */
function rebuildTensor(
  storage: TorchStorage,
  offset: unknown,
  size: unknown,
  stride: unknown,
  budget: { left: number; max: number },
  claimed: WeakSet<TorchStorage>,
  fail: (m: string) => never,
): RawTensor {
  if (!isCount(offset)) fail(`tensor storage_offset ${show(offset)} is not a non-negative integer`);
  if (!isTuple(size) || !size.every(isCount)) fail(`tensor size ${show(size)} is not a tuple of non-negative integers`);
  if (!isTuple(stride) || !stride.every(isCount))
    fail(`tensor stride ${show(stride)} is not a tuple of non-negative integers`);
  const shape = (size as readonly number[]).slice();
  const strides = stride as readonly number[];
  const off = offset as number;
  if (strides.length !== shape.length) fail(`tensor of size ${formatShape(shape)} has ${strides.length} strides`);
  const numel = shapeNumel(shape);
  if (!Number.isFinite(numel)) fail(`tensor of size ${formatShape(shape)} has more than 2^53 elements`);
  const src = storage.data;
  const make = (n: number) => new (src.constructor as new (n: number) => TensorData)(n);
  const where = `storage '${clip(storage.key)}' (${src.length} ${storage.dtype})`;
  if (numel === 0) {
    if (off > src.length) fail(`empty tensor has storage_offset ${off} beyond ${where}`);
    return { dtype: storage.dtype, shape, data: make(0) };
  }
  let last = off;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * strides[d];
  if (!Number.isSafeInteger(last) || last >= src.length) {
    fail(
      `tensor of size ${formatShape(shape)}, stride ${formatShape(strides as number[])} and offset ${off} reaches element ${last}, beyond the end of ${where}`,
    );
  }
  const nbytes = numel * dtypeItemSize(storage.dtype);
  if (nbytes > budget.left) {
    fail(
      `tensor of size ${formatShape(shape)} (${nbytes} bytes, a view of ${where}) would take the checkpoint's tensors past ${budget.max} bytes, the maxTensorBytes limit (many or expanded views of one storage?)`,
    );
  }
  budget.left -= nbytes;
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) contiguous = false;
    expect *= shape[d];
  }
  if (contiguous) {
    // The usual case, one tensor per storage covering all of it: hand over the storage's array (already a
    // private, aligned copy) instead of copying it again. Any later view of the same storage copies.
    const whole = off === 0 && numel === src.length && !claimed.has(storage);
    if (whole) claimed.add(storage);
    return { dtype: storage.dtype, shape, data: whole ? src : src.slice(off, off + numel) };
  }
  // Non-contiguous view (transposed, sliced, expanded): gather along the last dimension, odometer above it.
  const out = make(numel) as Float64Array;
  const from = src as Float64Array; // same element type as `out`; the cast only lets bigint arrays share the code
  const nd = shape.length;
  const index = new Array<number>(nd).fill(0);
  const lastSize = shape[nd - 1];
  const lastStride = strides[nd - 1];
  let base = off;
  let o = 0;
  for (;;) {
    for (let j = 0, s = base; j < lastSize; j++, s += lastStride) out[o++] = from[s];
    let d = nd - 2;
    for (; d >= 0; d--) {
      base += strides[d];
      if (++index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) break;
  }
  return { dtype: storage.dtype, shape, data: out as TensorData };
}

function runPickle(
  bytes: Uint8Array,
  opened: OpenedArchive,
  verifyCrc: boolean,
  maxTensorBytes: number,
  limits: Partial<PickleLimits> = {},
): TorchValue {
  const { archive, prefix, pickleEntry } = opened;
  const budget = { left: maxTensorBytes, max: maxTensorBytes };
  const claimed = new WeakSet<TorchStorage>(); // storages whose array a tensor took over
  const storages = new Map<string, TorchStorage>();
  const label = 'torch pickle';
  const failAt =
    (offset: number) =>
    (message: string): never => {
      throw new CheckpointError(`${label}: ${message}; at byte ${offset} of '${pickleEntry}'`, {
        entry: pickleEntry,
        offset,
      });
    };

  const hooks: UnpicklerHooks = {
    findGlobal(module, name, offset) {
      const full = `${module}.${name}`;
      if ((module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) || CALLABLES.has(full)) {
        return { kind: 'global', module, name } satisfies PickleGlobal;
      }
      const top = module.split('.')[0];
      if (top === 'torch' || CODE_MODULES.has(top))
        return failAt(offset)(`refusing global '${clip(full)}' (only state dicts can be loaded)`);
      return opaque(full, false);
    },

    absorbs: isOpaque,

    newObject(cls, _args, _kwargs, offset) {
      if (isOpaque(cls)) return opaque(cls.name, true);
      return failAt(offset)(
        `${isGlobal(cls) ? `'${qualified(cls)}'` : `a ${pyTypeName(cls)}`} cannot be instantiated (NEWOBJ)`,
      );
    },

    persistentLoad(pid, offset) {
      const fail = failAt(offset);
      if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
        fail(`persistent id is a ${pyTypeName(pid)}, not a ('storage', type, key, location, numel) tuple`);
      }
      const [, type, key, location, numel] = pid as readonly unknown[];
      if (!isGlobal(type) || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) {
        fail(
          `persistent id names storage type ${isGlobal(type) ? `'${qualified(type)}'` : `a ${pyTypeName(type)}`}, not a torch storage type`,
        );
      }
      if (typeof key !== 'string' || typeof location !== 'string')
        fail('persistent id has a non-string storage key or location');
      if (!isCount(numel)) fail(`storage '${clip(String(key))}' declares ${show(numel)} elements`);
      const dtype = STORAGE_TYPES[(type as PickleGlobal).name];
      const k = key as string;
      const cached = storages.get(k);
      if (cached) {
        if (cached.dtype !== dtype || cached.data.length !== numel) {
          fail(`storage '${clip(k)}' is referenced as ${numel} ${dtype} and as ${cached.data.length} ${cached.dtype}`);
        }
        return cached;
      }
      const name = `${prefix}data/${k}`;
      const entry = archive.get(name);
      if (!entry) fail(`storage '${clip(k)}' has no entry '${clip(name)}' in the archive`);
      const nbytes = (numel as number) * dtypeItemSize(dtype);
      if (entry!.size !== nbytes) {
        fail(
          `storage '${clip(k)}' declares ${numel} ${dtype} (${nbytes} bytes) but '${clip(name)}' holds ${entry!.size} bytes`,
        );
      }
      const data = typedArrayFromBytes(dtype, archive.read(entry!, verifyCrc), 0, numel as number);
      const storage: TorchStorage = { kind: 'storage', dtype, key: k, location: location as string, data };
      storages.set(k, storage);
      return storage;
    },

    reduce(callable, args, offset) {
      const fail = failAt(offset);
      if (isOpaque(callable)) return opaque(callable.name, true);
      if (!isGlobal(callable)) fail(`REDUCE applies a ${pyTypeName(callable)}, which cannot be called`);
      const g = callable as PickleGlobal;
      switch (qualified(g)) {
        case ORDERED_DICT: {
          const d = new Map<TorchValue, TorchValue>();
          if (args.length === 0) return d;
          const items = args[0];
          if (args.length === 1 && Array.isArray(items)) {
            for (const pair of items) {
              if (!Array.isArray(pair) || pair.length !== 2) fail('OrderedDict items must be (key, value) pairs');
              d.set(pair[0], pair[1]);
            }
            return d;
          }
          return fail(`OrderedDict called with ${args.length} arguments it does not take`);
        }
        case REBUILD_TENSOR: {
          if (args.length !== 6 && args.length !== 7)
            fail(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${args.length}`);
          const [storage, storageOffset, size, stride] = args;
          if (!isStorage(storage)) fail(`_rebuild_tensor_v2 got a ${pyTypeName(storage)} where a storage belongs`);
          return rebuildTensor(storage as TorchStorage, storageOffset, size, stride, budget, claimed, fail);
        }
        case REBUILD_PARAMETER: {
          if (args.length !== 3 || !isRawTensor(args[0]))
            fail('_rebuild_parameter takes (tensor, requires_grad, backward_hooks)');
          return args[0];
        }
        default:
          return fail(`'${qualified(g)}' cannot be called`);
      }
    },

    build(target, _state, offset) {
      // A dict's BUILD state holds attributes (an OrderedDict state dict carries `_metadata`, the modules'
      // versions), never items: nothing to keep.
      // An opaque object's state is dropped with it (it stays a placeholder).
      if (!(target instanceof Map) && !isOpaque(target))
        failAt(offset)(`BUILD on a ${pyTypeName(target)} is not supported`);
    },
  };

  return unpickle(bytes, hooks, label, pickleEntry, limits) as TorchValue;
}

/**
 * Reads a PyTorch checkpoint (the zip format of `torch.save`, PyTorch >= 1.6) and returns the saved object
 * as plain JavaScript values (see {@link TorchValue}): a state dict is a `Map` of {@link RawTensor}s, an
 * MMPretrain checkpoint a `Map` with 'meta' and 'state_dict'.
 *
 * Only plain data is accepted: the pickle may name `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the `torch.*Storage` types of the
 * supported dtypes. Any other `torch` global (a pickled module, a quantized tensor) and any global of a module that
 * can run code ({@link CODE_MODULES}: `os.system`, `builtins.eval`, ...) is refused with a {@link CheckpointError};
 * any other global (numpy scalars, a config class in `meta`) comes out as an inert {@link OpaqueObject}, as does
 * calling (REDUCE, NEWOBJ) or building (BUILD) one. Nothing is ever imported or executed. Tensors saved as views (transposed, sliced, expanded, or
 * several sharing one storage) come out as independent contiguous copies.
 *
 * Work and memory stay linear in the file's size: the pickle VM's {@link PickleLimits} (integer size, nesting
 * depth, memo size, values pushed; defaults {@link PICKLE_LIMITS}) and `maxTensorBytes` stop a crafted file with a
 * {@link CheckpointError} that names the limit. The result is acyclic and nests at most `maxDepth` deep.
 */
export function readTorchObject(bytes: Uint8Array | ArrayBuffer, options: TorchReadOptions = {}): TorchValue {
  const buf = asBytes(bytes);
  const verifyCrc = options.verifyCrc ?? true;
  const opened = openArchive(buf, verifyCrc);
  const pkl = opened.archive.read(opened.archive.get(opened.pickleEntry)!, verifyCrc);
  const maxTensorBytes = options.maxTensorBytes ?? 4 * buf.length + TENSOR_BYTES_ALLOWANCE;
  return runPickle(pkl, opened, verifyCrc, maxTensorBytes, options.pickleLimits);
}

function toStateDict(value: Map<TorchValue, TorchValue>, where: string): StateDict {
  const out: StateDict = new Map();
  for (const [key, t] of value) {
    if (typeof key !== 'string')
      refuse(`${where} has a key of type ${pyTypeName(key)} (${show(key)}); state-dict keys are strings`);
    if (isOpaque(t))
      refuse(
        `${where} entry '${clip(key)}' is a '${clip(t.name)}' object, not a tensor (objects other than tensors are never loaded)`,
        { key },
      );
    if (!isRawTensor(t))
      refuse(`${where} entry '${clip(key)}' is not a tensor (it is a Python ${pyTypeName(t)})`, { key });
    out.set(key, t);
  }
  return out;
}

/**
 * Reads the state dict of a PyTorch checkpoint: the saved object itself when it is a dict of tensors
 * (`torch.save(model.state_dict(), f)`), or its `'state_dict'` (MMPretrain, MMEngine, Lightning) or
 * `'model'` entry when the saved object is a dict holding one. Keys keep the file's order. See
 * {@link readTorchObject} for what is accepted; anything else throws a {@link CheckpointError}.
 */
export function readTorch(bytes: Uint8Array | ArrayBuffer, options: TorchReadOptions = {}): StateDict {
  const obj = readTorchObject(bytes, options);
  if (!(obj instanceof Map)) refuse(`the checkpoint holds a ${pyTypeName(obj)}, not a state dict`);
  const root = obj as Map<TorchValue, TorchValue>;
  for (const name of ['state_dict', 'model']) {
    const inner = root.get(name);
    if (inner instanceof Map) return toStateDict(inner, `the checkpoint's '${name}'`);
  }
  const keys = [...root.keys()];
  if (keys.some((k) => !isRawTensor(root.get(k))) && !keys.some((k) => isRawTensor(root.get(k)))) {
    const listed = keys
      .slice(0, 8)
      .map((k) => (typeof k === 'string' ? clip(k) : show(k)))
      .join(', ');
    refuse(
      `the checkpoint is a dict without tensors and without a 'state_dict' or 'model' entry (keys: ${clip(listed)}${keys.length > 8 ? ', ...' : ''})`,
    );
  }
  return toStateDict(root, 'the state dict');
}
