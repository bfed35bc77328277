// A minimal ZIP reader for the archives torch.save writes (PyTorch >= 1.6): every entry stored
// (method 0), sizes in the central directory (the local headers carry a data-descriptor flag and zero
// sizes), a padding extra field in each local header that aligns the data to 64 bytes. ZIP64 end
// records and ZIP64 extra fields are understood; compression, encryption and multi-disk archives are refused.
//
// Everything is validated against the file's length before use, so a truncated or mutated archive gives a
// CheckpointError, never an out-of-range read or a huge allocation.
import { CheckpointError } from './errors';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;

const METHOD_NAMES: Record<number, string> = {
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
  99: 'AES',
};

/** One member of a ZIP archive, as its central directory describes it. */
export interface ZipEntry {
  /** The member's path inside the archive. */
  name: string;
  /** Size of the member's data in bytes (stored, so also its size in the archive). */
  size: number;
  /** CRC-32 of the data, from the central directory. */
  crc32: number;
  /** Offset of the member's data in the archive. */
  dataOffset: number;
}

/** A parsed archive: its entries and a way to read one. */
export interface ZipArchive {
  /** Every entry, in central-directory order. */
  entries: ZipEntry[];
  /** The entry with this exact name, if any. */
  get(name: string): ZipEntry | undefined;
  /**
   * The entry's bytes: a view into the archive, not a copy. With `verifyCrc` (the default) the data's
   * CRC-32 is checked against the central directory first.
   */
  read(entry: ZipEntry, verifyCrc?: boolean): Uint8Array;
}

let crcTables: Uint32Array | undefined;

// Slicing-by-8 tables: table k maps a byte to its CRC contribution k bytes further on, so the main loop
// folds 8 bytes per step (about 4x the speed of the byte-at-a-time loop on a large storage).
function tables(): Uint32Array {
  if (crcTables) return crcTables;
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  }
  return (crcTables = t);
}

/** CRC-32 (the ZIP/PNG polynomial 0xEDB88320) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  const t = tables();
  let c = 0xffffffff;
  let i = 0;
  const n8 = bytes.length - (bytes.length % 8);
  for (; i < n8; i += 8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c =
      t[1792 + (c & 0xff)] ^
      t[1536 + ((c >>> 8) & 0xff)] ^
      t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Parses the archive's structure: the end-of-central-directory record (and the ZIP64 one where present),
 * every central-directory entry and its local header. Throws a {@link CheckpointError} for anything that is
 * not a well-formed archive of stored entries.
 *
 * @param label prefix of error messages (`torch zip`).
 */
export function readZip(bytes: Uint8Array, label = 'zip'): ZipArchive {
  const fail = (message: string, details: { entry?: string; offset?: number } = {}): never => {
    throw new CheckpointError(`${label}: ${message}`, details);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const u16 = (p: number) => dv.getUint16(p, true);
  const u32 = (p: number) => dv.getUint32(p, true);
  const u64 = (p: number, what: string): number => {
    const lo = dv.getUint32(p, true);
    const hi = dv.getUint32(p + 4, true);
    if (hi >= 2 ** 21)
      fail(`${what} ${BigInt(hi) * 2n ** 32n + BigInt(lo)} is beyond any file this reader can hold`, { offset: p });
    return hi * 2 ** 32 + lo;
  };

  // End of central directory: the last 22 bytes, unless a comment follows it (up to 64 KiB). The record's
  // comment length must reach exactly to the end of the file.
  let eocd = -1;
  for (let p = len - EOCD_SIZE; p >= 0 && p >= len - EOCD_SIZE - 0xffff; p--) {
    if (u32(p) === SIG_EOCD && p + EOCD_SIZE + u16(p + 20) === len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail(`no end-of-central-directory record (not a zip archive, or truncated: ${len} bytes)`);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0)
    fail('multi-disk (split) archives are not supported', { offset: eocd });
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (u16(eocd + 8) !== count)
    fail(`end record counts ${u16(eocd + 8)} entries on this disk but ${count} in all`, { offset: eocd });
  let cdLimit = eocd; // the central directory must end before this offset

  const locator = eocd - 20;
  if (locator >= 0 && u32(locator) === SIG_ZIP64_LOCATOR) {
    if (u32(locator + 4) !== 0 || u32(locator + 16) > 1)
      fail('multi-disk (split) ZIP64 archives are not supported', { offset: locator });
    const rec = u64(locator + 8, 'ZIP64 end record offset');
    if (rec + 56 > locator)
      fail(`ZIP64 end record offset ${rec} is not before its locator at ${locator}`, { offset: locator });
    if (u32(rec) !== SIG_ZIP64_EOCD) fail(`no ZIP64 end record at offset ${rec}`, { offset: rec });
    if (u32(rec + 16) !== 0 || u32(rec + 20) !== 0)
      fail('multi-disk (split) ZIP64 archives are not supported', { offset: rec });
    const count64 = u64(rec + 32, 'ZIP64 entry count');
    if (u64(rec + 24, 'ZIP64 entry count') !== count64)
      fail('ZIP64 end record counts differ between this disk and the archive', { offset: rec });
    count = count64;
    cdSize = u64(rec + 40, 'ZIP64 central directory size');
    cdOffset = u64(rec + 48, 'ZIP64 central directory offset');
    cdLimit = rec;
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    fail('end record defers to ZIP64 records that are missing (truncated archive?)', { offset: eocd });
  }
  if (cdOffset + cdSize > cdLimit) {
    fail(
      `central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end records at ${cdLimit} (truncated archive?)`,
      { offset: eocd },
    );
  }
  if (count * CENTRAL_SIZE > cdSize)
    fail(`${count} entries cannot fit in a ${cdSize}-byte central directory`, { offset: eocd });

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  const cdEnd = cdOffset + cdSize;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > cdEnd) fail(`central directory ends after ${i} of ${count} entries`, { offset: p });
    if (u32(p) !== SIG_CENTRAL)
      fail(`central directory entry ${i} has a bad signature (corrupt or truncated archive)`, { offset: p });
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let compressed = u32(p + 20);
    let size = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    const disk = u16(p + 34);
    let local = u32(p + 42);
    const next = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (next > cdEnd) fail(`central directory entry ${i} runs past the directory's end`, { offset: p });
    let name = '';
    try {
      name = decoder.decode(bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
    } catch {
      fail(`central directory entry ${i} has a name that is not UTF-8`, { offset: p });
    }
    if (size === 0xffffffff || compressed === 0xffffffff || local === 0xffffffff || disk === 0xffff) {
      // ZIP64 extended information: the fields that overflowed, in this order, each 8 bytes.
      let q = p + CENTRAL_SIZE + nameLen;
      const extraEnd = q + extraLen;
      let found = false;
      while (q + 4 <= extraEnd) {
        const id = u16(q);
        const n = u16(q + 2);
        if (q + 4 + n > extraEnd) break;
        if (id === 0x0001) {
          let r = q + 4;
          const take = (what: string): number => {
            if (r + 8 > q + 4 + n)
              fail(`entry '${name}' has a short ZIP64 extra field (no ${what})`, { entry: name, offset: r });
            const v = u64(r, `entry '${name}' ${what}`);
            r += 8;
            return v;
          };
          if (size === 0xffffffff) size = take('size');
          if (compressed === 0xffffffff) compressed = take('compressed size');
          if (local === 0xffffffff) local = take('local header offset');
          found = true;
          break;
        }
        q += 4 + n;
      }
      if (!found) fail(`entry '${name}' needs a ZIP64 extra field but has none`, { entry: name, offset: p });
    }
    if (flags & 0x41) fail(`entry '${name}' is encrypted`, { entry: name });
    if (method !== 0) {
      fail(
        `entry '${name}' uses compression method ${method}${METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : ''}; torch.save stores entries uncompressed (method 0) and only those are read`,
        { entry: name },
      );
    }
    if (compressed !== size)
      fail(`stored entry '${name}' has compressed size ${compressed} but size ${size}`, { entry: name });
    if (byName.has(name)) fail(`entry '${name}' appears twice in the central directory`, { entry: name });

    // The local header repeats the name; the data follows it and its extra field (torch pads there).
    if (local + LOCAL_SIZE > cdOffset)
      fail(`entry '${name}' has its local header at ${local}, past the file data`, { entry: name, offset: p });
    if (u32(local) !== SIG_LOCAL)
      fail(`entry '${name}' has no local header at offset ${local}`, { entry: name, offset: local });
    if (u16(local + 8) !== method)
      fail(`entry '${name}': local header and central directory disagree on the method`, {
        entry: name,
        offset: local,
      });
    const localNameLen = u16(local + 26);
    const dataOffset = local + LOCAL_SIZE + localNameLen + u16(local + 28);
    if (
      localNameLen !== nameLen ||
      bytes.subarray(local + LOCAL_SIZE, local + LOCAL_SIZE + nameLen).some((b, k) => b !== bytes[p + CENTRAL_SIZE + k])
    ) {
      fail(`entry '${name}': local header names a different file`, { entry: name, offset: local });
    }
    if (dataOffset + size > cdOffset) {
      fail(`entry '${name}' claims ${size} bytes at offset ${dataOffset}, past the file data (truncated archive?)`, {
        entry: name,
        offset: local,
      });
    }
    const entry: ZipEntry = { name, size, crc32: crc, dataOffset };
    entries.push(entry);
    byName.set(name, entry);
    p = next;
  }
  if (p !== cdEnd) fail(`central directory holds ${cdEnd - p} bytes after its ${count} entries`, { offset: p });

  return {
    entries,
    get: (name) => byName.get(name),
    read(entry, verifyCrc = true) {
      const data = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size);
      if (verifyCrc) {
        const actual = crc32(data);
        if (actual !== entry.crc32) {
          fail(
            `entry '${entry.name}' is corrupt: CRC-32 ${actual.toString(16).padStart(8, '0')} instead of ${entry.crc32.toString(16).padStart(8, '0')}`,
            { entry: entry.name },
          );
        }
      }
      return data;
    },
  };
}
