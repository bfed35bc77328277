// A restricted pickle virtual machine: it understands the opcodes that a PyTorch state dict (and the plain
// Python values of a checkpoint's metadata) pickle to, and nothing else. It never imports or calls anything:
// GLOBAL / STACK_GLOBAL hand the name to `findGlobal`, which returns a marker or refuses; REDUCE, BUILD and
// BINPERSID hand their operands to the caller's hooks. Every read is bounds-checked against the remaining
// bytes, so a truncated or mutated pickle ends in a CheckpointError.
//
// Values: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number, str -> string,
// bytes -> Uint8Array, list -> array, tuple -> frozen array, dict -> Map.
import { CheckpointError } from './errors';

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
}

// Names of every pickle opcode (protocols 0-5), for messages about the ones this VM refuses.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Whether `value` is a pickled tuple (this VM freezes tuples; lists stay mutable). */
export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
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
    if ('kind' in value) return String((value as { kind: unknown }).kind);
  }
  return typeof value;
}

/**
 * Runs the pickle in `bytes` and returns its result. Only protocol 0-5 opcodes that build plain data are
 * implemented (see the list in the switch); anything else throws a {@link CheckpointError} naming the opcode.
 *
 * @param label prefix of error messages (`torch pickle`).
 * @param entry the archive member the pickle came from, recorded in errors.
 */
export function unpickle(bytes: Uint8Array, hooks: UnpicklerHooks, label = 'pickle', entry?: string): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const end = bytes.length;
  let pos = 0;
  let op = 0; // offset of the opcode being run, for messages
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (message: string): never => {
    throw new CheckpointError(`${label}: ${message}; at byte ${op}${entry ? ` of '${entry}'` : ''}`, { entry, offset: op });
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
    memo.set(i, top());
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
      case 0x80: { // PROTO
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
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x74: { // TUPLE
        const items = popMark(); // before reading `stack`: popping the mark replaces it
        stack.push(Object.freeze(items));
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = code - 0x84;
        if (stack.length < n) fail(`${OPCODE_NAMES[code]} needs ${n} items on the stack, found ${stack.length}`);
        stack.push(Object.freeze(stack.splice(stack.length - n, n)));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32(), 'BINUNICODE string'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8(), 'SHORT_BINUNICODE string'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64(), 'BINUNICODE8 string'));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32(), 'BINBYTES data').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8(), 'SHORT_BINBYTES data').slice());
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
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedInt(take(u8(), 'LONG1 integer')));
        break;
      case 0x8b: // LONG4
        stack.push(signedInt(take(u32(), 'LONG4 integer')));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8, 'BINFLOAT');
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x73: { // SETITEM
        const value = pop();
        const key = checkKey(pop());
        dictOnTop().set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const d = dictOnTop();
        for (let i = 0; i < items.length; i += 2) d.set(checkKey(items[i]), items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        listOnTop().push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = listOnTop();
        for (const item of items) l.push(item);
        break;
      }
      case 0x63: { // GLOBAL
        const module = line('GLOBAL module name');
        const name = line('GLOBAL name');
        stack.push(hooks.findGlobal(module, name, op));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.findGlobal(module as string, name as string, op));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!isTuple(args)) fail(`REDUCE arguments are a ${pyTypeName(args)}, not a tuple`);
        stack.push(hooks.reduce(callable, args as readonly unknown[], op));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        hooks.build(top(), state, op);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop(), op));
        break;
      default: {
        const name = OPCODE_NAMES[code];
        fail(`unsupported opcode 0x${code.toString(16).padStart(2, '0')}${name ? ` (${name})` : ' (not a pickle opcode)'}; only the opcodes of a state dict are read`);
      }
    }
  }
  return fail('the pickle ends without STOP (truncated?)');
}
