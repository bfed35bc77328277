// A restricted pickle virtual machine: it understands the opcodes that a PyTorch state dict (and the plain
// Python values of a checkpoint's metadata) pickle to, and nothing else. It never imports or calls anything:
// GLOBAL / STACK_GLOBAL hand the name to `findGlobal`, which returns a marker or refuses; REDUCE, BUILD and
// BINPERSID hand their operands to the caller's hooks. Every read is bounds-checked against the remaining
// bytes, so a truncated or mutated pickle ends in a CheckpointError.
//
// Values: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number, str -> string,
// bytes -> Uint8Array, list -> array, tuple -> frozen array, dict -> Map.
//
// Resource limits (PickleLimits) keep the work linear in the pickle's size and the values small enough for any
// later code: integers are at most a few dozen bytes (building a bigint is quadratic in its length), containers
// nest at most `maxDepth` deep, the memo and the number of values pushed are capped, and a list or dict cannot
// change once it is inside another container (so values form no cycles and their depth is known when built).
import { CheckpointError } from './errors';
import { pyPreview } from './preview';

/**
 * Resource limits of the pickle VM. The defaults admit any real checkpoint (torchvision and timm state dicts,
 * MMPretrain / MMEngine / Lightning training checkpoints with their metadata) with a wide margin, and stop a
 * crafted pickle with a {@link CheckpointError} naming the limit before it costs more than linear time and memory.
 */
export interface PickleLimits {
  /**
   * The longest integer (LONG1 / LONG4), in bytes: {@link PICKLE_LIMITS} 64, that is up to 2^511. torch writes
   * storage sizes, offsets and strides in at most 9 bytes, and the largest integers in checkpoint metadata (seeds,
   * hashes, timestamps) in 8 to 16; a bigint's construction is quadratic in its length.
   */
  maxIntBytes: number;
  /**
   * How deep containers (tuple, list, dict) may nest: 100. A state dict nests about 5 deep, MMPretrain's meta about
   * 10; Python's own pickler stops with a RecursionError a few hundred levels down.
   */
  maxDepth: number;
  /** The most memo entries: 1,000,000 (torch memoizes about 10 objects per tensor). */
  maxMemo: number;
  /**
   * The most values the pickle may push (every opcode that pushes counts one, memo lookups and MARKs included):
   * 2,000,000, about 80,000 tensors' worth (torch pushes about 25 values per tensor). This bounds the memory the
   * unpickled values take: at worst (2,000,000 empty dicts from a 2 MB pickle) about 400 MB.
   */
  maxObjects: number;
}

/** The default {@link PickleLimits}. */
export const PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({
  maxIntBytes: 64,
  maxDepth: 100,
  maxMemo: 1_000_000,
  maxObjects: 2_000_000,
});

/** The operations a caller supplies to give meaning to globals, persistent ids, REDUCE and BUILD. */
export interface UnpicklerHooks {
  /** Resolves `module.name` to a marker value, or throws to refuse it. */
  findGlobal(module: string, name: string, offset: number): unknown;
  /** BINPERSID: the object a persistent id stands for. */
  persistentLoad(pid: unknown, offset: number): unknown;
  /** REDUCE: applies a resolved global to its argument tuple. */
  reduce(callable: unknown, args: readonly unknown[], offset: number): unknown;
  /** BUILD: applies `state` to `target` (the object on top of the stack). */
  build(target: unknown, state: unknown, offset: number): void;
  /**
   * NEWOBJ / NEWOBJ_EX (`cls.__new__(cls, *args, **kwargs)`; `kwargs` is an empty Map for NEWOBJ). Without this hook
   * both opcodes are refused as unsupported.
   */
  newObject?(cls: unknown, args: readonly unknown[], kwargs: Map<unknown, unknown>, offset: number): unknown;
  /**
   * Whether `target` is an inert placeholder that SETITEM(S) / APPEND(S) may target (a pickled dict or list
   * subclass): their items are then dropped, not stored. Without this hook only dicts and lists take items.
   */
  absorbs?(target: unknown): boolean;
}

// Names of every pickle opcode (protocols 0-5), for messages about the ones this VM refuses.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Whether `value` is a pickled tuple (this VM freezes tuples; lists stay mutable). */
export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

/**
 * A short Python-like rendering of an unpickled value for messages (`(3, 4)`, `[1, 'x']`, `None`), at most
 * `max` characters: built within that budget, so a huge or deeply shared value costs no more than a small one.
 */
export function pyRepr(value: unknown, max?: number): string {
  return pyPreview(value, pyTypeName, max);
}

/** Python's name for the type of an unpickled value, for error messages. */
export function pyTypeName(value: unknown): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'string') return 'str';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return isTuple(value) ? 'tuple' : 'list';
  if (value instanceof Map) return 'dict';
  if (typeof value === 'object' && value !== null) {
    if ('dtype' in value && 'shape' in value && 'data' in value) return 'Tensor';
    if ('kind' in value && (value as { kind: unknown }).kind === 'opaque' && 'name' in value)
      return `${String((value as { name: unknown }).name)} object`;
    if ('kind' in value) return String((value as { kind: unknown }).kind);
  }
  return typeof value;
}

/**
 * Runs the pickle in `bytes` and returns its result. Only protocol 0-5 opcodes that build plain data are
 * implemented (see the list in the switch); anything else throws a {@link CheckpointError} naming the opcode.
 * So does going past any of the `limits` ({@link PICKLE_LIMITS} by default). The result is acyclic and nests
 * at most `maxDepth` containers deep.
 *
 * @param label prefix of error messages (`torch pickle`).
 * @param entry the archive member the pickle came from, recorded in errors.
 */
export function unpickle(
  bytes: Uint8Array,
  hooks: UnpicklerHooks,
  label = 'pickle',
  entry?: string,
  limits: Partial<PickleLimits> = {},
): unknown {
  const { maxIntBytes, maxDepth, maxMemo, maxObjects } = { ...PICKLE_LIMITS, ...limits };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const end = bytes.length;
  let pos = 0;
  let op = 0; // offset of the opcode being run, for messages
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let objects = 0; // values pushed so far
  // The nesting depth of each container that holds another (a leaf is 0, any other container 1), and the lists
  // and dicts already inside another container, which therefore cannot change any more: so no value contains
  // itself, and a container's depth is final when it is placed in another. (A Map and a Set, not their weak
  // kinds: V8 collects millions of weak entries in quadratic time.)
  const depths = new Map<object, number>();
  const contained = new Set<object>();

  const fail = (message: string): never => {
    throw new CheckpointError(`${label}: ${message}; at byte ${op}${entry ? ` of '${entry}'` : ''}`, {
      entry,
      offset: op,
    });
  };
  const need = (n: number, what: string): void => {
    if (n > end - pos) fail(`${what} needs ${n} bytes but only ${end - pos} remain (truncated?)`);
  };
  const u8 = (): number => {
    need(1, 'an argument');
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2, 'an argument');
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'an argument');
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8, 'an argument');
    const lo = dv.getUint32(pos, true);
    const hi = dv.getUint32(pos + 4, true);
    pos += 8;
    // Anything at or above 2^53 is far beyond the remaining bytes; cap so that later checks fail cleanly.
    return hi >= 2 ** 21 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + lo;
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const text = (n: number, what: string): string => {
    const raw = take(n, what);
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };
  const line = (what: string): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) fail(`${what} has no terminating newline (truncated?)`);
    const s = text(nl - pos, what);
    pos++; // the newline
    return s;
  };
  /** A hook's result: a container it made (OrderedDict's Map) gets its depth from its entries. */
  const adopt = (v: unknown): unknown => {
    if (v instanceof Map) built(v, v.keys(), v.values());
    else if (Array.isArray(v)) built(v, v);
    return v;
  };
  const isContainer = (v: unknown): v is unknown[] | Map<unknown, unknown> => Array.isArray(v) || v instanceof Map;
  // A container's depth is 1 unless recorded otherwise (so an empty one costs no entry).
  const depthOf = (v: unknown): number => (isContainer(v) ? (depths.get(v) ?? 1) : 0);
  /** Records that `child` now sits inside `parent` (one level down) and checks the depth limit. */
  const place = (parent: object, child: unknown): void => {
    if (!isContainer(child)) return;
    if (child === parent) fail(`${OPCODE_NAMES[bytes[op]]} puts a container inside itself; only plain data is read`);
    const d = depthOf(child) + 1;
    if (d > maxDepth) fail(`containers nest more than ${maxDepth} deep, the pickle's maxDepth limit`);
    if (d > (depths.get(parent) ?? 1)) depths.set(parent, d);
    if (!Object.isFrozen(child)) contained.add(child); // tuples cannot change anyway
  };
  /** A new container holding `items` (for one built by a hook, its entries): its depth from theirs. */
  const built = <T extends object>(container: T, ...groups: Iterable<unknown>[]): T => {
    for (const items of groups) for (const item of items) place(container, item);
    return container;
  };
  const mutable = (c: object, what: string): void => {
    if (contained.has(c))
      fail(
        `${OPCODE_NAMES[bytes[op]]} changes a ${what} that is already inside another container (a self-referencing value?); only plain data is read`,
      );
  };
  const push = (v: unknown): void => {
    if (++objects > maxObjects) fail(`the pickle pushes more than ${maxObjects} values, the maxObjects limit`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail(`${OPCODE_NAMES[bytes[op]]} found an empty stack`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`${OPCODE_NAMES[bytes[op]]} found an empty stack`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const previous = marks.pop();
    if (previous === undefined) fail(`${OPCODE_NAMES[bytes[op]]} without a MARK`);
    stack = previous!;
    return items;
  };
  const absorbs = (v: unknown): boolean => hooks.absorbs?.(v) === true;
  const dictOnTop = (): Map<unknown, unknown> => {
    const d = top();
    if (!(d instanceof Map)) fail(`${OPCODE_NAMES[bytes[op]]} on a ${pyTypeName(d)}, not a dict`);
    return d as Map<unknown, unknown>;
  };
  const listOnTop = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l) || isTuple(l)) fail(`${OPCODE_NAMES[bytes[op]]} on a ${pyTypeName(l)}, not a list`);
    return l as unknown[];
  };
  const checkKey = (k: unknown): unknown => {
    if (Array.isArray(k) && !isTuple(k)) fail('a list cannot be a dict key');
    if (k instanceof Map) fail('a dict cannot be a dict key');
    return k;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo slot ${i} was never stored`);
    return memo.get(i);
  };
  const memoPut = (i: number): void => {
    const v = top();
    if (!memo.has(i) && memo.size >= maxMemo) fail(`the memo holds more than ${maxMemo} entries, the maxMemo limit`);
    memo.set(i, v);
  };
  const long = (n: number, what: string): number | bigint => {
    const raw = take(n, what); // a truncated pickle says so first
    if (n > maxIntBytes) fail(`${what} of ${n} bytes is longer than ${maxIntBytes} bytes, the maxIntBytes limit`);
    return signedInt(raw);
  };
  const signedInt = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    v = BigInt.asIntN(raw.length * 8, v);
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  while (pos < end) {
    op = pos;
    const code = bytes[pos++];
    switch (code) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME: a length hint; the frame's opcodes follow inline
        if (u64() > end - pos) fail('FRAME is longer than the remaining bytes (truncated?)');
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        if (++objects > maxObjects) fail(`the pickle pushes more than ${maxObjects} values, the maxObjects limit`);
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(Object.freeze([]));
        break;
      case 0x74: {
        // TUPLE
        const items = popMark(); // before reading `stack`: popping the mark replaces it
        push(built(Object.freeze(items), items));
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = code - 0x84;
        if (stack.length < n) fail(`${OPCODE_NAMES[code]} needs ${n} items on the stack, found ${stack.length}`);
        const items = stack.splice(stack.length - n, n);
        push(built(Object.freeze(items), items));
        break;
      }
      case 0x58: // BINUNICODE
        push(text(u32(), 'BINUNICODE string'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8(), 'SHORT_BINUNICODE string'));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64(), 'BINUNICODE8 string'));
        break;
      case 0x42: // BINBYTES
        push(take(u32(), 'BINBYTES data').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8(), 'SHORT_BINBYTES data').slice());
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8(), 'LONG1 integer'));
        break;
      case 0x8b: // LONG4
        push(long(u32(), 'LONG4 integer'));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8, 'BINFLOAT');
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = checkKey(pop());
        if (absorbs(top())) break;
        const d = dictOnTop();
        mutable(d, 'dict');
        place(d, key);
        place(d, value);
        d.set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        if (absorbs(top())) break;
        const d = dictOnTop();
        mutable(d, 'dict');
        for (let i = 0; i < items.length; i += 2) {
          const key = checkKey(items[i]);
          place(d, key);
          place(d, items[i + 1]);
          d.set(key, items[i + 1]);
        }
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        if (absorbs(top())) break;
        const l = listOnTop();
        mutable(l, 'list');
        place(l, value);
        l.push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        if (absorbs(top())) break;
        const l = listOnTop();
        mutable(l, 'list');
        for (const item of items) {
          place(l, item);
          l.push(item);
        }
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line('GLOBAL module name');
        const name = line('GLOBAL name');
        push(hooks.findGlobal(module, name, op));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(hooks.findGlobal(module as string, name as string, op));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!isTuple(args)) fail(`REDUCE arguments are a ${pyTypeName(args)}, not a tuple`);
        push(adopt(hooks.reduce(callable, args as readonly unknown[], op)));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        hooks.build(top(), state, op);
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        if (!hooks.newObject) {
          fail(
            `unsupported opcode 0x${code.toString(16)} (${OPCODE_NAMES[code]}); only the opcodes of a state dict are read`,
          );
        }
        const kwargs = code === 0x92 ? pop() : new Map();
        const args = pop();
        const cls = pop();
        if (!isTuple(args)) fail(`${OPCODE_NAMES[code]} arguments are a ${pyTypeName(args)}, not a tuple`);
        if (!(kwargs instanceof Map)) fail(`NEWOBJ_EX keyword arguments are a ${pyTypeName(kwargs)}, not a dict`);
        push(adopt(hooks.newObject!(cls, args as readonly unknown[], kwargs as Map<unknown, unknown>, op)));
        break;
      }
      case 0x51: // BINPERSID
        push(adopt(hooks.persistentLoad(pop(), op)));
        break;
      default: {
        const name = OPCODE_NAMES[code];
        fail(
          `unsupported opcode 0x${code.toString(16).padStart(2, '0')}${name ? ` (${name})` : ' (not a pickle opcode)'}; only the opcodes of a state dict are read`,
        );
      }
    }
  }
  return fail('the pickle ends without STOP (truncated?)');
}
