// An image's size from its header alone, for PNG, JPEG, GIF, WebP and BMP: how the browser platform
// checks the decoded-pixel budget before handing the bytes to the browser's decoder (Node asks
// sharp for the header instead). Every scan is bounded by the bytes given and moves forward only.

/** An image's format and size as its header announces them. */
export interface ImageHeader {
  /** `'png'`, `'jpeg'`, `'gif'`, `'webp'` or `'bmp'`. */
  format: string;
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function u24le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
}

function ascii(b: Uint8Array, at: number, text: string): boolean {
  if (b.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function png(b: Uint8Array): ImageHeader | null {
  // Signature, then the IHDR chunk: length, 'IHDR', width, height.
  if (b.length < 24 || !PNG_SIGNATURE.every((v, i) => b[i] === v) || !ascii(b, 12, 'IHDR')) return null;
  return { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
}

function jpeg(b: Uint8Array): ImageHeader | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, or scan data before any frame header
    const length = u16be(b, i + 2);
    // SOF0..SOF15, except DHT (c4), JPG (c8) and DAC (cc): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      const height = u16be(b, i + 5);
      const width = u16be(b, i + 7);
      return height > 0 && width > 0 ? { format: 'jpeg', width, height } : null; // height 0: set later by a DNL marker
    }
    if (length < 2) return null;
    i += 2 + length;
  }
  return null;
}

function gif(b: Uint8Array): ImageHeader | null {
  if (!(ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) || b.length < 13) return null;
  let width = u16le(b, 6);
  let height = u16le(b, 8);
  // Decoders grow the canvas to hold the first frame when it reaches past the logical screen: find it.
  let i = 13 + (b[10] & 0x80 ? 3 << ((b[10] & 7) + 1) : 0);
  while (i < b.length) {
    const block = b[i];
    if (block === 0x2c) {
      if (i + 9 > b.length) break;
      width = Math.max(width, u16le(b, i + 1) + u16le(b, i + 5));
      height = Math.max(height, u16le(b, i + 3) + u16le(b, i + 7));
      break;
    }
    if (block !== 0x21) break; // the trailer, or not GIF
    i += 2; // introducer and label, then sub-blocks up to a zero length
    while (i < b.length && b[i] !== 0) i += b[i] + 1;
    i++;
  }
  return { format: 'gif', width, height };
}

function webp(b: Uint8Array): ImageHeader | null {
  if (!ascii(b, 0, 'RIFF') || !ascii(b, 8, 'WEBP') || b.length < 30) return null;
  if (ascii(b, 12, 'VP8X')) return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  if (ascii(b, 12, 'VP8L') && b[20] === 0x2f) {
    const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (ascii(b, 12, 'VP8 ') && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  return null;
}

function bmp(b: Uint8Array): ImageHeader | null {
  if (!ascii(b, 0, 'BM') || b.length < 26) return null;
  const dib = b[14] | (b[15] << 8) | (b[16] << 16) | (b[17] << 24);
  if (dib === 12) return { format: 'bmp', width: u16le(b, 18), height: u16le(b, 20) };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { format: 'bmp', width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
}

/**
 * The format and size a PNG, JPEG, GIF, WebP or BMP file's header announces, read without decoding
 * anything; null for other formats or a header too short or malformed to tell.
 *
 * @example
 * imageHeaderSize(pngBytes); // { format: 'png', width: 16000, height: 16000 }
 */
export function imageHeaderSize(bytes: Uint8Array): ImageHeader | null {
  return png(bytes) ?? jpeg(bytes) ?? gif(bytes) ?? webp(bytes) ?? bmp(bytes);
}
