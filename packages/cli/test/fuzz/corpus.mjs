// The fuzz corpus: small valid files of every format the loaders read (the seeds), deterministic mutants of
// them, and the hostile files of issue #19 as fixed members. Pure data: nothing here loads anything through
// the library under test (the layers package only writes the safetensors seed and reads the torch fixtures
// the seeds are made from; sharp encodes the image seeds).
//
// A mutant's id is `<format>-<index>` (e.g. `png-017`); its bytes depend only on that id and the seeds, never
// on how many mutants were asked for, so any id reproduces on its own (`run.mjs --only png-017`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { readTorch, writeSafetensors } from '@cnn/layers';

/** The formats mutated, in report order. */
export const FORMATS = ['safetensors', 'pth-zip', 'pickle', 'pth-legacy', 'idx', 'idx-gz', 'cifar', 'png', 'jpeg'];

const FIXTURES = fileURLToPath(new URL('../../../layers/test/fixtures/checkpoint/', import.meta.url));

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness

/** A small seeded PRNG (mulberry32) keyed by a string. */
export class Prng {
  constructor(key) {
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    this.s = h >>> 0;
  }
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
  range(lo, hi) {
    return lo + this.int(hi - lo + 1);
  }
  pick(a) {
    return a[this.int(a.length)];
  }
  chance(p) {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Byte helpers

const enc = new TextEncoder();
export const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const le = (n, bytes) => {
  let v = BigInt(n);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};
const be = (n, bytes) => le(n, bytes).reverse();
const u32be = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const u16be = (b, at) => (b[at] << 8) | b[at + 1];
const u32le = (b, at) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u16le = (b, at) => b[at] | (b[at + 1] << 8);
const hex = (n) => `0x${n.toString(16)}`;
const crc32 = (data, value = 0) => zlib.crc32(data, value);
// Plain Uint8Arrays only: Buffer#slice is a view, so mutating a Buffer's "copy" would change the seed.
const gz = (b) => new Uint8Array(zlib.gzipSync(b, { level: 9 }));

const INTERESTING8 = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];
const INTERESTING16 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 16000];
const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 16000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

// ---------------------------------------------------------------------------------------------------------
// Generic byte mutations. `hot` lists [start, end) ranges (headers) that get half of the positions.

function position(rng, length, hot) {
  if (length === 0) return 0;
  if (hot?.length && rng.chance(0.5)) {
    const [s, e] = rng.pick(hot);
    const lo = Math.min(s, length - 1);
    const hi = Math.min(e, length);
    return lo + rng.int(Math.max(1, hi - lo));
  }
  return rng.int(length);
}

function byteMutation(rng, b, hot, others = []) {
  const kind = rng.pick(['flip', 'flip', 'byte', 'word', 'truncate', 'insert', 'duplicate', 'delete', 'splice']);
  const out = b.slice();
  switch (kind) {
    case 'flip': {
      const n = rng.range(1, 8);
      const at = [];
      for (let i = 0; i < n; i++) {
        const p = position(rng, out.length, hot);
        out[p] ^= 1 << rng.int(8);
        at.push(p);
      }
      return { bytes: out, desc: `flip ${n} bit(s) at ${at.slice(0, 4).join(',')}${n > 4 ? ',...' : ''}` };
    }
    case 'byte': {
      const p = position(rng, out.length, hot);
      const v = rng.pick(INTERESTING8);
      out[p] = v;
      return { bytes: out, desc: `byte ${p} := ${hex(v)}` };
    }
    case 'word': {
      const size = rng.pick([2, 4, 8]);
      const p = Math.max(0, Math.min(position(rng, out.length, hot), out.length - size));
      const big = rng.chance(0.5);
      const v =
        size === 2
          ? rng.pick(INTERESTING16)
          : size === 4
            ? rng.pick(INTERESTING32)
            : rng.pick([0n, 2n ** 63n - 1n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 32n]);
      const w = (big ? be : le)(v, size);
      out.set(w.subarray(0, Math.min(size, out.length - p)), p);
      return { bytes: out, desc: `${size * 8}-bit ${big ? 'BE' : 'LE'} word at ${p} := ${hex(BigInt(v))}` };
    }
    case 'truncate': {
      const p = position(rng, b.length, hot);
      return { bytes: b.slice(0, p), desc: `truncate to ${p} of ${b.length} bytes` };
    }
    case 'insert': {
      const p = position(rng, b.length, hot);
      const n = rng.range(1, 64);
      const ins = new Uint8Array(n);
      const fill = rng.pick(['random', 'ff', '00']);
      for (let i = 0; i < n; i++) ins[i] = fill === 'random' ? rng.int(256) : fill === 'ff' ? 0xff : 0;
      return { bytes: concat(b.subarray(0, p), ins, b.subarray(p)), desc: `insert ${n} ${fill} bytes at ${p}` };
    }
    case 'duplicate': {
      const s = position(rng, b.length, hot);
      const n = Math.min(rng.range(1, 512), b.length - s);
      const at = position(rng, b.length, hot);
      const times = rng.pick([1, 1, 2, 16]);
      const chunk = b.subarray(s, s + n);
      return {
        bytes: concat(b.subarray(0, at), ...Array(times).fill(chunk), b.subarray(at)),
        desc: `duplicate ${n} bytes from ${s} x${times} at ${at}`,
      };
    }
    case 'delete': {
      const s = position(rng, b.length, hot);
      const n = Math.min(rng.range(1, 256), b.length - s);
      return { bytes: concat(b.subarray(0, s), b.subarray(s + n)), desc: `delete ${n} bytes at ${s}` };
    }
    case 'splice': {
      const other = others.length ? rng.pick(others) : b;
      const p = position(rng, b.length, hot);
      const q = rng.int(other.length);
      return {
        bytes: concat(b.subarray(0, p), other.subarray(q)),
        desc: `splice: first ${p} bytes + another seed from ${q}`,
      };
    }
  }
  throw new Error(kind);
}

// ---------------------------------------------------------------------------------------------------------
// Deflate bombs: a compressed stream of `total` zero bytes (after an optional prefix), built by repeating one
// compressed block. After a full flush the compressor starts afresh, so the compressed form of a block of
// zeros is the same wherever it stands and the stream is made in milliseconds, whatever its inflated size.

const zeroBlocks = new Map();
function deflatedZeros(n) {
  let b = zeroBlocks.get(n);
  if (!b)
    zeroBlocks.set(
      n,
      (b = zlib.deflateRawSync(Buffer.alloc(n), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH })),
    );
  return b;
}
/** Raw deflate of `prefix` then `zeros` zero bytes; `zeros` must be a multiple of `block` once the first block is full. */
function rawDeflateBomb(prefix, zeros, block = 16_000_000) {
  const first = Math.min(zeros, block);
  const parts = [
    zlib.deflateRawSync(concat(prefix, new Uint8Array(first)), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH }),
  ];
  let left = zeros - first;
  while (left >= block) {
    parts.push(deflatedZeros(block));
    left -= block;
  }
  if (left > 0) parts.push(deflatedZeros(left));
  parts.push(new Uint8Array([0x03, 0x00])); // a final, empty, fixed-Huffman block
  return concat(...parts);
}
const zeroCrcs = new Map();
/** CRC-32 of `prefix` followed by `zeros` zero bytes. */
function crcOfZeros(prefix, zeros, block = 16_000_000) {
  let crc = crc32(prefix);
  let left = zeros;
  while (left > 0) {
    const n = Math.min(left, block);
    let z = zeroCrcs.get(n);
    if (!z) zeroCrcs.set(n, (z = Buffer.alloc(n)));
    crc = crc32(z, crc);
    left -= n;
  }
  return crc;
}
/** A gzip member inflating to `prefix` + `zeros` zero bytes. */
export function gzipBomb(prefix, zeros) {
  const raw = rawDeflateBomb(prefix, zeros);
  const total = prefix.length + zeros;
  return concat(
    new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
    raw,
    le(crcOfZeros(prefix, zeros), 4),
    le(total % 2 ** 32, 4),
  );
}
/** A zlib stream of `zeros` zero bytes (the Adler-32 of n zeros is (n mod 65521) << 16 | 1). */
function zlibZeros(zeros) {
  const adler = (((zeros % 65521) << 16) | 1) >>> 0;
  return concat(new Uint8Array([0x78, 0xda]), rawDeflateBomb(new Uint8Array(0), zeros, 16_001_000), be(adler, 4));
}

// ---------------------------------------------------------------------------------------------------------
// Zip (stored entries), as torch.save writes them, and a reader of its field positions

/** A zip of stored entries with correct CRCs. */
export function makeZip(entries) {
  const chunks = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data);
    const local = concat(
      le(0x04034b50, 4),
      le(20, 2),
      le(0x800, 2),
      le(0, 2),
      le(0, 2),
      le(0x21, 2),
      le(crc, 4),
      le(e.data.length, 4),
      le(e.data.length, 4),
      le(name.length, 2),
      le(0, 2),
      name,
    );
    central.push(
      concat(
        le(0x02014b50, 4),
        le(20, 2),
        le(20, 2),
        le(0x800, 2),
        le(0, 2),
        le(0, 2),
        le(0x21, 2),
        le(crc, 4),
        le(e.data.length, 4),
        le(e.data.length, 4),
        le(name.length, 2),
        le(0, 2),
        le(0, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(offset, 4),
        name,
      ),
    );
    chunks.push(local, e.data);
    offset += local.length + e.data.length;
  }
  const cd = concat(...central);
  return concat(
    ...chunks,
    cd,
    le(0x06054b50, 4),
    le(0, 2),
    le(0, 2),
    le(entries.length, 2),
    le(entries.length, 2),
    le(cd.length, 4),
    le(offset, 4),
    le(0, 2),
  );
}

/** The editable header fields of a zip (name, offset, size) and its header ranges. */
function zipFields(b) {
  const fields = [];
  const hot = [];
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (u32le(b, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return { fields, hot };
  hot.push([eocd, b.length]);
  fields.push(
    ['EOCD.entries', eocd + 8, 2],
    ['EOCD.total', eocd + 10, 2],
    ['EOCD.cdSize', eocd + 12, 4],
    ['EOCD.cdOffset', eocd + 16, 4],
    ['EOCD.commentLength', eocd + 20, 2],
  );
  const count = u16le(b, eocd + 10);
  let p = u32le(b, eocd + 16);
  hot.push([p, eocd]);
  for (let i = 0; i < count && p + 46 <= b.length && u32le(b, p) === 0x02014b50; i++) {
    const n = u16le(b, p + 28);
    const m = u16le(b, p + 30);
    const k = u16le(b, p + 32);
    fields.push(
      [`CD[${i}].method`, p + 10, 2],
      [`CD[${i}].crc`, p + 16, 4],
      [`CD[${i}].compressedSize`, p + 20, 4],
      [`CD[${i}].size`, p + 24, 4],
      [`CD[${i}].nameLength`, p + 28, 2],
      [`CD[${i}].extraLength`, p + 30, 2],
      [`CD[${i}].localOffset`, p + 42, 4],
    );
    const lh = u32le(b, p + 42);
    if (lh + 30 <= b.length && u32le(b, lh) === 0x04034b50) {
      hot.push([lh, lh + 30 + u16le(b, lh + 26) + u16le(b, lh + 28)]);
      fields.push(
        [`LH[${i}].method`, lh + 8, 2],
        [`LH[${i}].compressedSize`, lh + 18, 4],
        [`LH[${i}].size`, lh + 22, 4],
        [`LH[${i}].nameLength`, lh + 26, 2],
        [`LH[${i}].extraLength`, lh + 28, 2],
      );
    }
    p += 46 + n + m + k;
  }
  return { fields, hot };
}

function zipFieldEdit(rng, b) {
  const { fields } = zipFields(b);
  const [name, at, size] = rng.pick(fields);
  const v = rng.chance(0.2)
    ? b.length + rng.range(-64, 64)
    : size === 2
      ? rng.pick(INTERESTING16)
      : rng.pick(INTERESTING32);
  const out = b.slice();
  out.set(le(BigInt.asUintN(size * 8, BigInt(v)), size), at);
  return { bytes: out, desc: `zip ${name} := ${hex(BigInt.asUintN(size * 8, BigInt(v)))}` };
}

// ---------------------------------------------------------------------------------------------------------
// Pickles (protocol 2 as torch.save writes them, or protocol 4), written by hand

const STORAGE = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  uint8: 'ByteStorage',
};

/** Pickle opcodes for plain values, and the hostile expressions the mutants inject. */
const PK = {
  int: (n) =>
    n >= 0 && n < 256
      ? [0x4b, n]
      : n >= 0 && n < 65536
        ? [0x4d, ...le(n, 2)]
        : n >= -(2 ** 31) && n < 2 ** 31
          ? [0x4a, ...le(BigInt.asUintN(32, BigInt(n)), 4)]
          : PK.long(BigInt(n)),
  long: (n) => {
    const bytes = [];
    let v = n;
    do {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    } while (
      !(v === 0n && (bytes[bytes.length - 1] & 0x80) === 0) &&
      !(v === -1n && (bytes[bytes.length - 1] & 0x80) !== 0)
    );
    return [0x8a, bytes.length, ...bytes];
  },
  put: (i) => [0x72, ...le(i, 4)],
  get: (i) => [0x6a, ...le(i, 4)],
  // ((((1,),),),) nested `depth` deep: 1 + depth bytes.
  deepTuple: (depth) => [0x4b, 1, ...new Array(depth).fill(0x85)],
  // t0 = (1,); t(k+1) = (tk, tk) through the memo: 11 bytes a level, 2^levels leaves when spelled out.
  sharedTuple: (levels, base = 90000) => {
    const out = [0x4b, 1, 0x85, ...PK.put(base)];
    for (let l = 0; l < levels; l++) out.push(...PK.get(base + l), 0x86, ...PK.put(base + l + 1));
    return out;
  },
  // (list nested `depth` deep,): a tuple, so it passes as a dict key.
  deepListInTuple: (depth) => [...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), 0x85],
  // (L,) where L contains itself.
  cyclicList: (base = 95000) => [0x5d, ...PK.put(base), ...PK.get(base), 0x61, 0x85],
  long4: (n) => {
    const out = new Uint8Array(5 + n).fill(0x5a);
    out[0] = 0x8b;
    out.set(le(n, 4), 1);
    return out;
  },
  bigString: (n) => {
    const out = new Uint8Array(5 + n).fill(0x61);
    out[0] = 0x58;
    out.set(le(n, 4), 1);
    return out;
  },
  wideTuple: (n, item = [0x4b, 2]) => [0x28, ...Array.from({ length: n }, () => item).flat(), 0x74],
  float: (v) => [0x47, ...new Uint8Array(new Float64Array([v]).buffer).reverse()],
};

/**
 * A state-dict pickle of `tensors` (a Map of RawTensor), one storage each, named '0', '1', ...
 * `shape` 'torch' (OrderedDict + SETITEMS, protocol 2), 'p4' (protocol 4 with FRAME, MEMOIZE, STACK_GLOBAL) or
 * 'training' (a dict with 'state_dict' and 'meta' entries). `inject` puts a hostile expression somewhere.
 */
function statePickle(tensors, shape = 'torch', inject) {
  const p4 = shape === 'p4';
  let memo = 0;
  const memoized = new Map();
  const str = (s) => {
    const b = enc.encode(s);
    return p4 && b.length < 256 ? [0x8c, b.length, ...b] : [0x58, ...le(b.length, 4), ...b];
  };
  // Explicit memo slots (BINPUT) in both protocols: MEMOIZE numbers slots by the memo's size, which an injected
  // expression's own slots would shift. (net-p4.pth, written by torch, covers MEMOIZE.)
  const put = () => (memo < 256 ? [0x71, memo] : [0x72, ...le(memo, 4)]);
  const get = (i) => (i < 256 ? [0x68, i] : [0x6a, ...le(i, 4)]);
  const global = (mod, name) => {
    const k = `${mod}.${name}`;
    if (memoized.has(k)) return get(memoized.get(k));
    const code = p4 ? [...str(mod), ...str(name), 0x93] : [0x63, ...enc.encode(`${mod}\n${name}\n`)];
    memoized.set(k, memo);
    const r = [...code, ...put()];
    memo++;
    return r;
  };
  const tuple = (items) =>
    items.length === 0
      ? [0x29]
      : items.length <= 3
        ? [...items.flat(), 0x84 + items.length]
        : [0x28, ...items.flat(), 0x74];
  const injected = (where, normal) =>
    inject && inject.where === where && (inject.tensor ?? 0) === tensorIndex ? [...inject.bytes] : normal;
  let tensorIndex = 0;
  const tensorExpr = (t, key) => {
    const stride = [];
    for (let d = t.shape.length - 1, m = 1; d >= 0; d--) {
      stride[d] = m;
      m *= t.shape[d];
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const pid = [
      0x28,
      ...str('storage'),
      ...global('torch', STORAGE[t.dtype]),
      ...str(key),
      ...str('cpu'),
      ...injected('numel', PK.int(numel)),
      0x74,
      0x51,
    ];
    return [
      ...global('torch._utils', '_rebuild_tensor_v2'),
      0x28,
      ...pid,
      ...injected('offset', PK.int(0)),
      ...injected('size', tuple(t.shape.map(PK.int))),
      ...injected('stride', tuple(stride.map(PK.int))),
      0x89,
      ...global('collections', 'OrderedDict'),
      0x29,
      0x52,
      0x74,
      0x52,
    ];
  };
  const dictHead = [...global('collections', 'OrderedDict'), 0x29, 0x52, 0x28]; // before the items: memo order is stream order
  const items = [];
  // Loops, not push(...bytes): an injected expression can be a megabyte long.
  const append = (src) => {
    for (const x of src) items.push(x);
  };
  let i = 0;
  for (const [k, t] of tensors) {
    tensorIndex = i;
    append(str(k));
    append(tensorExpr(t, String(i)));
    i++;
  }
  if (inject?.where === 'key') append([...inject.bytes, 0x4b, 0]);
  if (inject?.where === 'value') append([...str('fuzz.extra'), ...inject.bytes]);
  const dict = [...dictHead, ...items, 0x75];
  const body =
    shape === 'training'
      ? [
          0x7d,
          0x28,
          ...str('meta'),
          0x7d,
          0x28,
          ...str('epoch'),
          ...PK.int(3),
          ...str('lr'),
          ...PK.float(0.1),
          0x75,
          ...str('state_dict'),
          ...dict,
          0x75,
        ]
      : dict;
  const root = inject?.where === 'root' ? [...inject.bytes] : body;
  if (!p4) return new Uint8Array([0x80, 2, ...root, 0x2e]);
  const framed = [...root, 0x2e];
  return new Uint8Array([0x80, 4, 0x95, ...le(framed.length, 8), ...framed]);
}

function storageBytes(t) {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
}

/** A torch.save zip of a state-dict pickle and the tensors' storages. */
function torchZip(pkl, tensors) {
  return makeZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: enc.encode('little') },
    ...[...tensors.values()].map((t, i) => ({ name: `archive/data/${i}`, data: storageBytes(t) })),
    { name: 'archive/version', data: enc.encode('3\n') },
  ]);
}

/** A hostile expression for the pickle mutants, with its description. */
function pickleBomb(rng) {
  const kind = rng.pick([
    'deepTuple',
    'sharedTuple',
    'deepListInTuple',
    'cyclicList',
    'long4',
    'bigString',
    'wideTuple',
    'marks',
    'hugeInt',
    'float',
    'missingMemo',
  ]);
  switch (kind) {
    case 'deepTuple': {
      const d = rng.pick([100, 5000, 20000, 100000]);
      return { bytes: PK.deepTuple(d), desc: `tuple nested ${d} deep` };
    }
    case 'sharedTuple': {
      const l = rng.range(4, 30);
      return { bytes: PK.sharedTuple(l), desc: `shared sub-tuples, ${l} levels (2^${l} leaves)` };
    }
    case 'deepListInTuple': {
      const d = rng.pick([1000, 20000, 100000]);
      return { bytes: PK.deepListInTuple(d), desc: `(list nested ${d} deep,)` };
    }
    case 'cyclicList':
      return { bytes: PK.cyclicList(), desc: '(list containing itself,)' };
    case 'long4': {
      const n = rng.pick([9, 1000, 16000, 65536]);
      return { bytes: PK.long4(n), desc: `LONG4 integer of ${n} bytes` };
    }
    case 'bigString': {
      const n = rng.pick([1000, 100000, 1000000]);
      return { bytes: PK.bigString(n), desc: `string of ${n} characters` };
    }
    case 'wideTuple': {
      const n = rng.pick([64, 1000, 100000]);
      return { bytes: PK.wideTuple(n), desc: `tuple of ${n} items` };
    }
    case 'marks': {
      const n = rng.pick([1000, 100000]);
      return { bytes: [...new Array(n).fill(0x28), 0x4b, 1], desc: `${n} MARKs` };
    }
    case 'hugeInt': {
      const v = rng.pick([2n ** 62n, -(2n ** 40n), 2n ** 53n + 1n, -1n, 2n ** 31n]);
      return { bytes: PK.long(v), desc: `integer ${v}` };
    }
    case 'float': {
      const v = rng.pick([NaN, Infinity, -Infinity, 1e300, 2.5, -0]);
      return { bytes: PK.float(v), desc: `float ${v}` };
    }
    case 'missingMemo':
      return { bytes: PK.get(rng.pick([0x7fffffff, 0xffffffff, 77777])), desc: 'LONG_BINGET of a slot never stored' };
  }
  throw new Error(kind);
}

// ---------------------------------------------------------------------------------------------------------
// safetensors

function safetensorsParts(b) {
  const n = Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true));
  return { header: new TextDecoder().decode(b.subarray(8, 8 + n)), body: b.subarray(8 + n) };
}
const safetensorsOf = (headerText, body, length) => {
  const h = enc.encode(headerText);
  return concat(le(length ?? h.length, 8), h, body);
};
const nested = (depth, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);

function safetensorsMutation(rng, b) {
  const { header, body } = safetensorsParts(b);
  const json = JSON.parse(header);
  const keys = Object.keys(json).filter((k) => k !== '__metadata__');
  const key = rng.pick(keys);
  const kind = rng.pick([
    'shape',
    'offsets',
    'dtype',
    'deepShape',
    'deepMetadata',
    'metadata',
    'length',
    'notObject',
    'duplicate',
    'many',
    'drop',
  ]);
  const t = json[key];
  switch (kind) {
    case 'shape': {
      const v = rng.pick([0, -1, 1.5, 2 ** 31, 2 ** 53, 1e300, '3', null, [], [2, 2]]);
      const d = rng.int(Math.max(1, t.shape.length));
      if (t.shape.length === 0 || rng.chance(0.2)) t.shape.push(v);
      else t.shape[d] = v;
      return { bytes: safetensorsOf(JSON.stringify(json), body), desc: `'${key}' shape := ${JSON.stringify(t.shape)}` };
    }
    case 'offsets': {
      const [a, z] = t.data_offsets;
      const v = rng.pick([
        [z, a],
        [-1, z],
        [a, 2 ** 53],
        [a, body.length + 1],
        [0, 2 ** 64],
        [a + 0.5, z],
        [a],
        [a, z, 0],
        'x',
        [2 ** 31, 2 ** 31 + (z - a)],
      ]);
      t.data_offsets = v;
      return {
        bytes: safetensorsOf(JSON.stringify(json), body),
        desc: `'${key}' data_offsets := ${JSON.stringify(v)}`,
      };
    }
    case 'dtype': {
      const v = rng.pick(['F64', 'F16', 'BF16', 'I8', 'U8', 'BOOL', 'I64', 'F8_E4M3', 'BOGUS', '', 7, null]);
      t.dtype = v;
      return { bytes: safetensorsOf(JSON.stringify(json), body), desc: `'${key}' dtype := ${JSON.stringify(v)}` };
    }
    case 'deepShape': {
      const d = rng.pick([1000, 10000, 100000, 200000]);
      const text = JSON.stringify(json).replace(`"shape":${JSON.stringify(t.shape)}`, `"shape":${nested(d)}`);
      return { bytes: safetensorsOf(text, body), desc: `'${key}' shape nested ${d} deep` };
    }
    case 'deepMetadata': {
      const d = rng.pick([1000, 100000]);
      delete json.__metadata__;
      const text = `{"__metadata__":{"format":${nested(d, '1')}},${JSON.stringify(json).slice(1)}`;
      return { bytes: safetensorsOf(text, body), desc: `__metadata__ value nested ${d} deep` };
    }
    case 'metadata': {
      const v = rng.pick([
        { format: 7 },
        { layout: 'cnn' },
        [],
        'x',
        { big: 'x'.repeat(100000) },
        { 'cnn.training': '{' },
      ]);
      json.__metadata__ = v;
      return {
        bytes: safetensorsOf(JSON.stringify(json), body),
        desc: `__metadata__ := ${JSON.stringify(v).slice(0, 40)}`,
      };
    }
    case 'length': {
      const h = enc.encode(header);
      const v = rng.pick([
        0n,
        1n,
        BigInt(h.length - 1),
        BigInt(h.length + 1),
        BigInt(b.length),
        100_000_000n,
        2n ** 32n,
        2n ** 53n,
        2n ** 64n - 1n,
      ]);
      return { bytes: concat(le(v, 8), b.subarray(8)), desc: `header length := ${v}` };
    }
    case 'notObject': {
      const v = rng.pick(['[]', 'null', '"x"', '7', '{"w":7}', '{"w":{"dtype":"F32"}}', '{}', `{"__metadata__":{}}`]);
      return { bytes: safetensorsOf(v, body), desc: `header := ${v}` };
    }
    case 'duplicate': {
      const text = `${JSON.stringify(json).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify({ ...t, shape: [1] })}}`;
      return { bytes: safetensorsOf(text, body), desc: `'${key}' appears twice` };
    }
    case 'many': {
      const n = rng.pick([1000, 50000]);
      for (let i = 0; i < n; i++) json[`fuzz.${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
      return { bytes: safetensorsOf(JSON.stringify(json), body), desc: `${n} extra empty tensors` };
    }
    case 'drop': {
      delete json[key];
      return { bytes: safetensorsOf(JSON.stringify(json), body), desc: `'${key}' removed from the header` };
    }
  }
  throw new Error(kind);
}

// ---------------------------------------------------------------------------------------------------------
// IDX (MNIST) and CIFAR

function idxFile(magicRank, dims, data) {
  return concat(new Uint8Array([0, 0, 8, magicRank]), ...dims.map((d) => be(d, 4)), data);
}

function idxMutation(rng, files) {
  const which = rng.chance(0.6) ? 'images' : 'labels';
  const b = files[which];
  const rank = which === 'images' ? 3 : 1;
  const kind = rng.pick(['dim', 'dim', 'magic', 'label', 'bytes', 'bytes']);
  const out = b.slice();
  if (kind === 'dim') {
    const d = rng.int(rank);
    const v = rng.chance(0.3) ? u32be(b, 4 + 4 * d) + rng.pick([-1, 1, 2]) : rng.pick(INTERESTING32);
    out.set(be(v >>> 0, 4), 4 + 4 * d);
    return { files: { ...files, [which]: out }, desc: `${which} dim[${d}] := ${v >>> 0}` };
  }
  if (kind === 'magic') {
    const p = rng.int(4);
    const v = rng.pick([0, 1, 3, 8, 9, 0x0b, 0x0d, 0x1f, 0xff]);
    out[p] = v;
    return { files: { ...files, [which]: out }, desc: `${which} magic byte ${p} := ${hex(v)}` };
  }
  if (kind === 'label') {
    const l = files.labels.slice();
    const i = 8 + rng.int(l.length - 8);
    l[i] = rng.pick([10, 11, 127, 255]);
    return { files: { ...files, labels: l }, desc: `label ${i - 8} := ${l[i]}` };
  }
  const m = byteMutation(rng, b, [[0, 4 + 4 * rank]]);
  return { files: { ...files, [which]: m.bytes }, desc: `${which}: ${m.desc}` };
}

function gzipMutation(rng, files) {
  const which = rng.chance(0.6) ? 'images' : 'labels';
  const b = files[which];
  const kind = rng.pick(['flags', 'trailer', 'member', 'bomb', 'bytes', 'bytes']);
  const out = b.slice();
  switch (kind) {
    case 'flags': {
      const v = rng.pick([0x02, 0x04, 0x08, 0x10, 0x1e, 0xe0, 0xff]);
      out[3] = v;
      return { files: { ...files, [which]: out }, desc: `${which}.gz FLG := ${hex(v)}` };
    }
    case 'trailer': {
      const isize = rng.chance(0.5);
      const v = rng.pick(INTERESTING32);
      out.set(le(v, 4), b.length - (isize ? 4 : 8));
      return { files: { ...files, [which]: out }, desc: `${which}.gz ${isize ? 'ISIZE' : 'CRC'} := ${hex(v)}` };
    }
    case 'member': {
      const extra = gz(rng.chance(0.5) ? b : files[which === 'images' ? 'labels' : 'images']);
      return { files: { ...files, [which]: concat(b, extra) }, desc: `${which}.gz with a second gzip member` };
    }
    case 'bomb': {
      const mb = rng.pick([16, 128, 512]);
      return {
        files: { ...files, [which]: concat(b, gzipBomb(new Uint8Array(0), mb * 1_000_000)) },
        desc: `${which}.gz with a second member of ${mb} MB of zeros`,
      };
    }
    default: {
      const m = byteMutation(rng, b, [
        [0, 12],
        [b.length - 8, b.length],
      ]);
      return { files: { ...files, [which]: m.bytes }, desc: `${which}.gz: ${m.desc}` };
    }
  }
}

function cifarMutation(rng, b) {
  const kind = rng.pick(['label', 'label', 'record', 'bytes', 'bytes']);
  if (kind === 'label') {
    const out = b.slice();
    const r = rng.int(b.length / 3073);
    out[r * 3073] = rng.pick([10, 99, 255]);
    return { bytes: out, desc: `record ${r} label := ${out[r * 3073]}` };
  }
  if (kind === 'record') {
    const times = rng.pick([0, 2, 100]);
    const rec = b.subarray(0, 3073);
    return {
      bytes: times === 0 ? new Uint8Array(0) : concat(b, ...Array(times).fill(rec)),
      desc: times === 0 ? 'empty file' : `${times} more records`,
    };
  }
  const m = byteMutation(rng, b, [
    [0, 1],
    [3073, 3074],
    [6146, 6147],
  ]);
  return { bytes: m.bytes, desc: m.desc };
}

// ---------------------------------------------------------------------------------------------------------
// PNG and JPEG

const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function pngChunk(type, data) {
  const td = concat(enc.encode(type), data);
  return concat(be(data.length, 4), td, be(crc32(td), 4));
}
function pngChunks(b) {
  const chunks = [];
  let p = 8;
  while (p + 12 <= b.length) {
    const n = u32be(b, p);
    const type = new TextDecoder('latin1').decode(b.subarray(p + 4, p + 8));
    chunks.push({ type, data: b.slice(p + 8, p + 8 + n) });
    p += 12 + n;
  }
  return chunks;
}
const pngOf = (chunks) => concat(PNG_SIGNATURE, ...chunks.map((c) => (c.raw ? c.raw : pngChunk(c.type, c.data))));

/** A PNG of width x height, 8-bit grey, all black: small on disk, width*height bytes once inflated (x3 as RGB). */
export function pngBomb(width, height) {
  const ihdr = concat(be(width, 4), be(height, 4), new Uint8Array([8, 0, 0, 0, 0]));
  if (height % 1000 !== 0) throw new Error('pngBomb: height must be a multiple of 1000');
  return pngOf([
    { type: 'IHDR', data: ihdr },
    { type: 'IDAT', data: zlibZeros((width + 1) * height) },
    { type: 'IEND', data: new Uint8Array(0) },
  ]);
}

function pngMutation(rng, b) {
  const chunks = pngChunks(b);
  const kind = rng.pick(['ihdr', 'ihdr', 'chunkData', 'chunkLength', 'order', 'extra', 'bytes', 'bytes']);
  switch (kind) {
    case 'ihdr': {
      const ihdr = chunks[0].data;
      const field = rng.pick(['width', 'height', 'both', 'depth', 'colour', 'compression', 'filter', 'interlace']);
      let desc;
      if (field === 'width' || field === 'height' || field === 'both') {
        const v = rng.pick([0, 1, 3000, 16000, 65535, 100000, 0x7fffffff, 0x80000000, 0xffffffff]);
        if (field !== 'height') ihdr.set(be(v, 4), 0);
        if (field !== 'width') ihdr.set(be(v, 4), 4);
        desc = `IHDR ${field} := ${v}`;
      } else {
        const at = { depth: 8, colour: 9, compression: 10, filter: 11, interlace: 12 }[field];
        const v = rng.pick([0, 1, 2, 3, 4, 6, 7, 8, 16, 255]);
        ihdr[at] = v;
        desc = `IHDR ${field} := ${v}`;
      }
      return { bytes: pngOf(chunks), desc: `${desc} (CRC fixed)` };
    }
    case 'chunkData': {
      const c = rng.pick(chunks.filter((x) => x.data.length > 0));
      const m = byteMutation(rng, c.data, [[0, 4]]);
      c.data = m.bytes;
      return { bytes: pngOf(chunks), desc: `${c.type} data: ${m.desc} (CRC fixed)` };
    }
    case 'chunkLength': {
      const i = rng.int(chunks.length);
      const raw = pngChunk(chunks[i].type, chunks[i].data);
      const v = rng.pick(INTERESTING32);
      raw.set(be(v, 4), 0);
      chunks[i].raw = raw;
      return { bytes: pngOf(chunks), desc: `${chunks[i].type} length := ${hex(v)}` };
    }
    case 'order': {
      const op = rng.pick(['drop', 'dup', 'swap']);
      const i = rng.int(chunks.length);
      if (op === 'drop') chunks.splice(i, 1);
      else if (op === 'dup') chunks.splice(i, 0, { ...chunks[i] });
      else {
        const j = rng.int(chunks.length);
        [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
      }
      return { bytes: pngOf(chunks), desc: `chunk ${op} at ${i}` };
    }
    case 'extra': {
      const v = rng.pick(['tEXt', 'zTXt', 'iCCP', 'IDAT']);
      const data =
        v === 'tEXt'
          ? concat(enc.encode('Comment\0'), new Uint8Array(200000).fill(0x41))
          : v === 'zTXt'
            ? concat(enc.encode('Comment\0\0'), zlibZeros(50_000_000))
            : v === 'iCCP'
              ? concat(enc.encode('icc\0\0'), zlib.deflateSync(new Uint8Array(5000).fill(0xff)))
              : zlib.deflateSync(new Uint8Array(100000));
      chunks.splice(1, 0, { type: v, data });
      return { bytes: pngOf(chunks), desc: `extra ${v} chunk of ${data.length} bytes after IHDR` };
    }
    default:
      return byteMutation(rng, b, [[0, 33]]);
  }
}

function jpegSegments(b) {
  // [marker, start, length-including-marker] up to SOS; the rest is the scan.
  const segs = [];
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    const n = u16be(b, p + 2);
    segs.push({ marker, at: p, len: n + 2 });
    if (marker === 0xda) break;
    p += n + 2;
  }
  return segs;
}

function jpegMutation(rng, b) {
  const segs = jpegSegments(b);
  const kind = rng.pick(['sof', 'sof', 'length', 'table', 'app', 'eoi', 'bytes', 'bytes']);
  const out = b.slice();
  const sof = segs.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
  switch (kind) {
    case 'sof': {
      const field = rng.pick(['height', 'width', 'both', 'precision', 'components']);
      if (field === 'precision') {
        const v = rng.pick([0, 12, 16, 255]);
        out[sof.at + 4] = v;
        return { bytes: out, desc: `SOF precision := ${v}` };
      }
      if (field === 'components') {
        const v = rng.pick([0, 2, 4, 255]);
        out[sof.at + 9] = v;
        return { bytes: out, desc: `SOF components := ${v}` };
      }
      const v = rng.pick([0, 1, 3000, 16000, 30000, 65535]);
      if (field !== 'width') out.set(be(v, 2), sof.at + 5);
      if (field !== 'height') out.set(be(v, 2), sof.at + 7);
      return { bytes: out, desc: `SOF ${field} := ${v}` };
    }
    case 'length': {
      const s = rng.pick(segs);
      const v = rng.pick([0, 1, 2, 3, 0x7fff, 0xffff, s.len - 3, s.len + 10]);
      out.set(be(v & 0xffff, 2), s.at + 2);
      return { bytes: out, desc: `segment ${hex(s.marker)} length := ${v & 0xffff}` };
    }
    case 'table': {
      const s = rng.pick(segs.filter((x) => x.marker === 0xdb || x.marker === 0xc4));
      const p = s.at + 4 + rng.int(Math.max(1, s.len - 4));
      out[p] = rng.pick(INTERESTING8);
      return { bytes: out, desc: `${s.marker === 0xdb ? 'DQT' : 'DHT'} byte ${p} := ${hex(out[p])}` };
    }
    case 'app': {
      const n = rng.pick([100, 65533]);
      const seg = concat(new Uint8Array([0xff, 0xe1]), be(n, 2), new Uint8Array(n - 2).fill(0x45));
      return { bytes: concat(b.subarray(0, 2), seg, seg, b.subarray(2)), desc: `two APP1 segments of ${n} bytes` };
    }
    case 'eoi':
      return { bytes: b.subarray(0, b.length - 2 - rng.int(8)), desc: 'no EOI (scan cut short)' };
    default: {
      const scan = segs[segs.length - 1];
      return byteMutation(rng, b, segs.map((s) => [s.at, s.at + s.len]).concat([[scan.at + scan.len, b.length]]));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Seeds

let seedsPromise = null;

/** The valid files every mutant starts from (built once per process). */
export function buildSeeds() {
  seedsPromise ??= makeSeeds();
  return seedsPromise;
}

async function makeSeeds() {
  const netPth = new Uint8Array(readFileSync(`${FIXTURES}net.pth`));
  const net = readTorch(netPth); // the fixture network's state dict, PyTorch layout
  const seeds = {};
  seeds.safetensors = [
    { name: 'net.safetensors (Python)', bytes: new Uint8Array(readFileSync(`${FIXTURES}net.safetensors`)) },
    { name: 'writeSafetensors(net)', bytes: writeSafetensors(net, { format: 'pt' }) },
  ];
  seeds['pth-zip'] = [
    { name: 'net.pth (torch, protocol 2)', bytes: netPth },
    { name: 'net-p4.pth (torch, protocol 4)', bytes: new Uint8Array(readFileSync(`${FIXTURES}net-p4.pth`)) },
  ];
  seeds.pickle = ['torch', 'p4', 'training'].map((shape) => ({
    name: `hand-made ${shape} pickle`,
    shape,
    tensors: net,
    bytes: torchZip(statePickle(net, shape), net),
  }));
  // torch.save before 1.6: a magic number, protocol version and system info pickled one after another, then the
  // state dict, the storage keys and the raw storages. The loader refuses the format by name.
  const legacyMagic = new Uint8Array([
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
  ]);
  const sysInfo = new Uint8Array([
    0x80,
    0x02,
    0x7d,
    0x71,
    0x00,
    0x28,
    0x58,
    ...le(13, 4),
    ...enc.encode('little_endian'),
    0x88,
    0x75,
    0x2e,
  ]);
  seeds['pth-legacy'] = [
    {
      name: 'legacy torch.save',
      bytes: concat(
        legacyMagic,
        new Uint8Array([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]),
        sysInfo,
        statePickle(net, 'torch'),
        new Uint8Array([0x80, 0x02, 0x5d, 0x2e]),
        ...[...net.values()].flatMap((t) => [le(t.data.length, 8), storageBytes(t)]),
      ),
    },
  ];
  // Four 28x28 images and their labels.
  const pixels = new Uint8Array(4 * 28 * 28);
  const r = new Prng('idx pixels');
  for (let i = 0; i < pixels.length; i++) pixels[i] = r.int(256);
  const idx = { images: idxFile(3, [4, 28, 28], pixels), labels: idxFile(1, [4], new Uint8Array([3, 1, 4, 1])) };
  seeds.idx = [{ name: 'MNIST 4 images', files: idx }];
  seeds['idx-gz'] = [{ name: 'MNIST 4 images, gzip', files: { images: gz(idx.images), labels: gz(idx.labels) } }];
  const cifar = new Uint8Array(3 * 3073);
  for (let i = 0; i < cifar.length; i++) cifar[i] = r.int(256);
  [0, 9, 5].forEach((label, i) => (cifar[i * 3073] = label));
  seeds.cifar = [{ name: 'CIFAR-10 3 records', bytes: cifar }];
  const rgb = new Uint8Array(16 * 12 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + r.int(32)) & 0xff;
  const raw = (w, h, c) => ({ raw: { width: w, height: h, channels: c } });
  const ga = new Uint8Array(9 * 7 * 2).map((_, i) => (i * 53) & 0xff);
  seeds.png = [
    {
      name: 'png 16x12 rgb',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .png()
          .toBuffer(),
      ),
    },
    {
      name: 'png 9x7 grey+alpha',
      bytes: new Uint8Array(
        await sharp(ga, raw(9, 7, 2))
          .png()
          .toBuffer(),
      ),
    },
    {
      name: 'png 16x12 palette',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .png({ palette: true, colours: 16 })
          .toBuffer(),
      ),
    },
    {
      name: 'png 16x12 interlaced',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .png({ progressive: true })
          .toBuffer(),
      ),
    },
  ];
  seeds.jpeg = [
    {
      name: 'jpeg 16x12 baseline',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .jpeg({ quality: 80 })
          .toBuffer(),
      ),
    },
    {
      name: 'jpeg 16x12 progressive',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .jpeg({ progressive: true })
          .toBuffer(),
      ),
    },
    {
      name: 'jpeg 16x12 grey',
      bytes: new Uint8Array(
        await sharp(rgb, raw(16, 12, 3))
          .grayscale()
          .jpeg()
          .toBuffer(),
      ),
    },
  ];
  return seeds;
}

// ---------------------------------------------------------------------------------------------------------
// Cases: what the child process loads

/**
 * A case: `{ id, format, seed, desc, target, files, expect }`. `files` maps a file name to its bytes (or to
 * `{ special: 'devzero' | 'fifo' }`); `target` says which public entry point the child calls with them;
 * `expect` is 'any' (a named error or success) or 'named' (it must be refused by name).
 */
const WEIGHT_TARGETS = ['loadWeights(path)', 'loadWeights(path)', 'loadWeights(bytes)'];
const IMAGE_TARGETS = [
  'decodeImage(bytes)',
  'loadImage(path)',
  'efficient.loadImage(path)',
  'efficient.loadImage(bytes)',
];

function weightCase(rng, bytes, ext) {
  return { target: rng.pick(WEIGHT_TARGETS), files: { [`model.${ext}`]: bytes } };
}
function imageCase(rng, bytes, ext) {
  return { target: rng.pick(IMAGE_TARGETS), channels: rng.chance(0.75) ? 3 : 1, files: { [`image.${ext}`]: bytes } };
}
const idxCase = (files, gz) => ({
  target: 'MNIST.fromFiles',
  files: {
    [`train-images-idx3-ubyte${gz ? '.gz' : ''}`]: files.images,
    [`train-labels-idx1-ubyte${gz ? '.gz' : ''}`]: files.labels,
  },
});
const cifarCase = (bytes) => ({ target: 'CIFAR10.load', files: { 'test_batch.bin': bytes } });

/** The unmutated seeds as cases (they must all load). */
export async function seedCases() {
  const seeds = await buildSeeds();
  const out = [];
  for (const format of FORMATS) {
    seeds[format].forEach((s, i) => {
      const id = `seed-${format}-${i}`;
      const base = { id, format, seed: s.name, desc: 'unmutated', expect: 'ok' };
      if (format === 'idx' || format === 'idx-gz') out.push({ ...base, ...idxCase(s.files, format === 'idx-gz') });
      else if (format === 'cifar') out.push({ ...base, ...cifarCase(s.bytes) });
      else if (format === 'png' || format === 'jpeg') {
        for (const target of IMAGE_TARGETS)
          out.push({
            ...base,
            id: `${id}-${target.replace(/[^a-z]/gi, '')}`,
            target,
            channels: 3,
            files: { [`image.${format}`]: s.bytes },
          });
      } else if (format === 'pth-legacy') {
        // Not a seed that loads: the format is refused by name, which the mutants' table shows.
      } else
        out.push({
          ...base,
          target: 'loadWeights(path)',
          files: { [`model.${format === 'safetensors' ? 'safetensors' : 'pth'}`]: s.bytes },
        });
    });
  }
  return out;
}

/** Mutant `index` of `format`: its bytes depend only on these two and the seeds. */
export async function mutant(format, index) {
  const seeds = await buildSeeds();
  const id = `${format}-${String(index).padStart(3, '0')}`;
  const rng = new Prng(id);
  const list = seeds[format];
  const seed = rng.pick(list);
  const others = list
    .filter((s) => s !== seed)
    .map((s) => s.bytes)
    .filter(Boolean);
  const stack = rng.chance(0.25) ? rng.range(2, 3) : 1; // how many mutations are applied on top of each other
  const descs = [];
  let c;
  switch (format) {
    case 'safetensors': {
      let b = seed.bytes;
      for (let k = 0; k < stack; k++) {
        const headerEnd = Math.min(
          b.length,
          8 + Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true) & 0xffffffffn),
        );
        const m =
          k === 0 && rng.chance(0.5) ? safetensorsMutation(rng, b) : byteMutation(rng, b, [[0, headerEnd]], others);
        b = m.bytes;
        descs.push(m.desc);
        if (b.length < 9) break;
      }
      c = weightCase(rng, b, 'safetensors');
      break;
    }
    case 'pth-zip': {
      let b = seed.bytes;
      for (let k = 0; k < stack; k++) {
        const m = rng.chance(0.4) ? zipFieldEdit(rng, b) : byteMutation(rng, b, zipFields(b).hot, others);
        b = m.bytes;
        descs.push(m.desc);
        if (zipFields(b).fields.length === 0) break;
      }
      c = weightCase(rng, b, 'pth');
      break;
    }
    case 'pickle': {
      // The pickle is mutated, then zipped with correct CRCs, so that every mutant reaches the pickle VM.
      let pkl;
      if (rng.chance(0.5)) {
        const bomb = pickleBomb(rng);
        const where = rng.pick(['key', 'key', 'key', 'value', 'value', 'root', 'size', 'stride', 'offset', 'numel']);
        const tensor = rng.int(seed.tensors.size);
        pkl = statePickle(seed.tensors, seed.shape, { where, tensor, bytes: bomb.bytes });
        descs.push(
          `${bomb.desc} as ${where === 'key' || where === 'value' || where === 'root' ? `the ${where}` : `tensor ${tensor}'s ${where}`}`,
        );
      } else {
        pkl = statePickle(seed.tensors, seed.shape);
        for (let k = 0; k < stack; k++) {
          const m = byteMutation(rng, pkl, [[0, Math.min(pkl.length, 256)]]);
          pkl = m.bytes;
          descs.push(`data.pkl: ${m.desc}`);
        }
      }
      c = weightCase(rng, torchZip(pkl, seed.tensors), 'pth');
      break;
    }
    case 'pth-legacy': {
      let b = seed.bytes;
      for (let k = 0; k < stack; k++) {
        const m = byteMutation(rng, b, [[0, 64]], others);
        b = m.bytes;
        descs.push(m.desc);
      }
      c = weightCase(rng, b, 'pth');
      break;
    }
    case 'idx': {
      let files = seed.files;
      for (let k = 0; k < stack; k++) {
        const m = idxMutation(rng, files);
        files = m.files;
        descs.push(m.desc);
      }
      c = idxCase(files, false);
      break;
    }
    case 'idx-gz': {
      // Half edit the IDX content and gzip it properly (the counts and sizes must be checked after inflating),
      // half mutate the gzip stream itself.
      let m;
      if (rng.chance(0.5)) {
        const e = idxMutation(rng, {
          images: new Uint8Array(zlib.gunzipSync(seed.files.images)),
          labels: new Uint8Array(zlib.gunzipSync(seed.files.labels)),
        });
        m = { files: { images: gz(e.files.images), labels: gz(e.files.labels) }, desc: `${e.desc}, gzipped` };
      } else m = gzipMutation(rng, seed.files);
      descs.push(m.desc);
      c = idxCase(m.files, true);
      break;
    }
    case 'cifar': {
      let b = seed.bytes;
      for (let k = 0; k < stack; k++) {
        const m = cifarMutation(rng, b);
        b = m.bytes;
        descs.push(m.desc);
        if (b.length < 3073) break;
      }
      c = cifarCase(b);
      break;
    }
    case 'png':
    case 'jpeg': {
      let b = seed.bytes;
      for (let k = 0; k < stack; k++) {
        const m =
          format === 'png'
            ? k === 0
              ? pngMutation(rng, b)
              : byteMutation(rng, b, [[0, 64]], others)
            : k === 0
              ? jpegMutation(rng, b)
              : byteMutation(rng, b, [[0, 64]], others);
        b = m.bytes;
        descs.push(m.desc);
      }
      c = imageCase(rng, b, format === 'png' ? 'png' : 'jpg');
      break;
    }
    default:
      throw new Error(`unknown format '${format}'`);
  }
  return { id, format, seed: seed.name, desc: descs.join('; '), expect: 'any', ...c };
}

/** The hostile files of issue #19: each must end in the library's named error within the time cap. */
export async function fixedCases() {
  const seeds = await buildSeeds();
  const net = seeds.pickle[0].tensors;
  const torchWith = (where, bytes) => torchZip(statePickle(net, 'torch', { where, bytes }), net);
  const special = (kind) => ({ special: kind });
  const out = [
    {
      id: 'fixed-pickle-long4-1mb',
      format: 'pickle',
      desc: 'a LONG4 integer of 1 MB as a state-dict value',
      target: 'loadWeights(path)',
      files: { 'model.pth': torchWith('value', PK.long4(1_000_000)) },
    },
    {
      id: 'fixed-pickle-shared-key-2e40',
      format: 'pickle',
      desc: 'a dict key of shared sub-tuples, 2^40 leaves (~450 bytes)',
      target: 'loadWeights(path)',
      files: { 'model.pth': torchWith('key', PK.sharedTuple(40)) },
    },
    {
      id: 'fixed-pickle-deep-key-100000',
      format: 'pickle',
      desc: 'a tuple nested 100,000 deep as a dict key',
      target: 'loadWeights(path)',
      files: { 'model.pth': torchWith('key', PK.deepTuple(100000)) },
    },
    {
      id: 'fixed-safetensors-deep-shape-200000',
      format: 'safetensors',
      desc: "a tensor 'shape' nested 200,000 deep",
      target: 'loadWeights(path)',
      files: {
        'model.safetensors': safetensorsOf(
          `{"w":{"dtype":"F32","shape":${nested(200000)},"data_offsets":[0,4]}}`,
          new Uint8Array(4),
        ),
      },
    },
    {
      id: 'fixed-png-16000x16000-decodeImage',
      format: 'png',
      desc: 'a 249 kB PNG of 16000x16000 (768 MB as RGB)',
      target: 'decodeImage(bytes)',
      channels: 3,
      files: { 'image.png': pngBomb(16000, 16000) },
    },
    {
      id: 'fixed-png-16000x16000-efficient',
      format: 'png',
      desc: 'a 249 kB PNG of 16000x16000 (768 MB as RGB)',
      target: 'efficient.loadImage(path)',
      channels: 3,
      files: { 'image.png': pngBomb(16000, 16000) },
    },
    {
      id: 'fixed-idx-gz-784mb',
      format: 'idx-gz',
      desc: 'a 762 kB gzip IDX declaring 10x28x28 that inflates to 784 MB',
      target: 'MNIST.fromFiles',
      files: {
        'train-images-idx3-ubyte.gz': gzipBomb(idxFile(3, [10, 28, 28], new Uint8Array(0)), 784_000_000),
        'train-labels-idx1-ubyte.gz': gz(idxFile(1, [10], new Uint8Array(10))),
      },
    },
  ];
  const devTargets = [
    ['loadWeights', 'pth-zip', { target: 'loadWeights(path)', file: 'model.pth' }],
    [
      'mnist',
      'idx',
      {
        target: 'MNIST.fromFiles',
        file: 'train-images-idx3-ubyte',
        extra: { 'train-labels-idx1-ubyte': seeds.idx[0].files.labels },
      },
    ],
    ['cifar', 'cifar', { target: 'CIFAR10.load', file: 'test_batch.bin' }],
    ['loadImage', 'png', { target: 'loadImage(path)', file: 'image.png', channels: 3 }],
    ['efficient', 'png', { target: 'efficient.loadImage(path)', file: 'image.png', channels: 3 }],
  ];
  for (const [kind, what] of [
    ['devzero', '/dev/zero'],
    ['fifo', 'a FIFO nobody writes to'],
  ]) {
    for (const [name, format, t] of devTargets) {
      out.push({
        id: `fixed-${kind}-${name}`,
        format,
        desc: `${what} as the input file`,
        target: t.target,
        channels: t.channels,
        files: { [t.file]: special(kind), ...t.extra },
      });
    }
  }
  return out.map((c) => ({ seed: 'fixed', expect: 'named', ...c }));
}

/** `count` mutants spread evenly over the formats, in a stable order. */
export async function mutants(count) {
  const per = Math.ceil(count / FORMATS.length);
  const out = [];
  for (let i = 0; i < per; i++) for (const format of FORMATS) if (out.length < count) out.push(await mutant(format, i));
  return out;
}

/** One case by id: a mutant (`png-017`), a fixed case (`fixed-...`) or a seed (`seed-...`). */
export async function caseById(id) {
  if (id.startsWith('fixed-')) return (await fixedCases()).find((c) => c.id === id);
  if (id.startsWith('seed-')) return (await seedCases()).find((c) => c.id === id);
  const m = /^(.+)-(\d+)$/.exec(id);
  if (!m || !FORMATS.includes(m[1])) return undefined;
  return mutant(m[1], Number(m[2]));
}
