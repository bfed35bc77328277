// What the Node and the browser weights stores share: the request, the download itself (streamed, with progress,
// a size limit and the Content-Length check), the URL a mirror gives, and the hash-prefix check, each failure a
// PretrainedError that names the URL, the cache path and what to do.
import { PretrainedError } from '../errors';

/** What {@link LoadPretrainedOptions.onProgress} is called with while a weights file downloads. */
export interface PretrainedProgress {
  /** Bytes received so far (never decreases). */
  loaded: number;
  /** The file's size from the server's Content-Length, when it sends one. */
  total: number | undefined;
  /** The URL being downloaded. */
  url: string;
}

/** The most bytes a weights download may have: 2 GiB (the largest ImageNet file of the zoo is VGG-19's, 548 MB). */
export const MAX_WEIGHTS_BYTES = 2 * 1024 * 1024 * 1024;

/** One weights file to bring in, from a file, a folder, the cache or the network (a store's input). */
export interface WeightsRequest {
  /** The file's name (cache key, and the name looked for in a folder or under a mirror's URL). */
  file: string;
  /** The publisher's URL. */
  url: string;
  /** The published first hex digits of the file's SHA-256 (8 in practice). */
  sha256Prefix: string;
  /** An explicit local file (Node). */
  localFile?: string;
  /** A mirror: the file is fetched from `baseUrl` + `file` instead of `url`. */
  baseUrl?: string;
  /** The cache folder (Node) or Cache Storage name (browser). */
  cacheDir?: string;
  onProgress?: (p: PretrainedProgress) => void;
  signal?: AbortSignal;
  /** Largest accepted download, in bytes (default {@link MAX_WEIGHTS_BYTES}). */
  maxBytes?: number;
}

/** A platform's way of bringing weights in (Node: the file system cache; browser: Cache Storage). */
export interface WeightsStore {
  /** The verified bytes of the requested file. */
  fetchWeights(req: WeightsRequest): Promise<Uint8Array>;
  /** The bytes of a file shipped inside this package (`file:` in Node, fetched beside the module in a page). */
  readShipped(url: URL): Promise<Uint8Array>;
}

function reason(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const own = e?.message ?? String(err);
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause && !own.includes(cause) ? `${own}: ${cause}` : own;
}

/** The URL to download `req.file` from: the mirror's (`baseUrl` + file) when one is given, else the publisher's. */
export function downloadUrl(req: WeightsRequest, envBase?: string): string {
  const base = req.baseUrl ?? (envBase === '' ? undefined : envBase);
  if (base === undefined) return req.url;
  let parsed: URL;
  try {
    parsed = new URL(base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new PretrainedError(
      'options',
      `the weights mirror ${JSON.stringify(base)} is not a URL; give an http(s) URL of the folder holding the files (baseUrl or CNN_WEIGHTS_URL)`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new PretrainedError(
      'options',
      `the weights mirror ${parsed.href} is not http(s); give an http(s) URL of the folder holding the files (baseUrl or CNN_WEIGHTS_URL)`,
    );
  return new URL(req.file, parsed).href;
}

/** Lower-case hex of a digest. */
export function hex(digest: ArrayBuffer | Uint8Array): string {
  const b = digest instanceof Uint8Array ? digest : new Uint8Array(digest);
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * Throws a hash-mismatch PretrainedError unless `sha256` (full hex) starts with the published prefix. `what`
 * describes the bytes ("the download from URL", "the file PATH"), `todo` what to do about it.
 */
export function checkPrefix(
  sha256: string,
  req: WeightsRequest,
  what: string,
  where: { url?: string; path?: string },
  todo: string,
): void {
  const want = req.sha256Prefix.toLowerCase();
  if (sha256.startsWith(want)) return;
  throw new PretrainedError(
    'hash-mismatch',
    `${what} has SHA-256 ${sha256.slice(0, 16)}..., but the published hash of ${req.file} starts with ${want}: it is not the published file (a different version, or damaged); ${todo}`,
    where,
  );
}

/**
 * Downloads `url` whole, with progress, refusing more than `maxBytes` and a body shorter than its Content-Length
 * (a dropped connection). `where.path` is where it would be cached; `todo` is the advice every message ends with.
 */
export async function downloadBytes(
  url: string,
  req: WeightsRequest,
  where: { path?: string },
  todo: string,
): Promise<Uint8Array> {
  const max = req.maxBytes ?? MAX_WEIGHTS_BYTES;
  const at = { url, ...where };
  const aborted = (err: unknown) =>
    new PretrainedError('aborted', `the download of ${url} was aborted; nothing was cached`, at, { cause: err });
  let res: Response;
  try {
    res = await fetch(url, { signal: req.signal });
  } catch (err) {
    if (req.signal?.aborted) throw aborted(err);
    throw new PretrainedError(
      'offline',
      `cannot download ${url} (${reason(err)}): no network, or the host cannot be reached; ${todo}`,
      at,
      { cause: err },
    );
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new PretrainedError(
      'http',
      `${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}; ${todo}`,
      at,
    );
  }
  // A compressed body's Content-Length counts the compressed bytes, not what the reader yields.
  const encoding = res.headers.get('content-encoding');
  const header = res.headers.get('content-length');
  const total =
    header !== null && /^\d+$/.test(header) && (encoding === null || encoding === 'identity')
      ? Number(header)
      : undefined;
  const tooLarge = (n: string) =>
    new PretrainedError(
      'too-large',
      `${url} is ${n} bytes, over the limit of ${max} bytes for a weights file; nothing was cached`,
      at,
    );
  if (total !== undefined && total > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(String(total));
  }
  if (!res.body) throw new PretrainedError('truncated', `${url} answered with no body; ${todo}`, at);
  const reader = res.body.getReader();
  // With a Content-Length, one buffer of that size is filled as the bytes come (no second copy of a large file).
  const whole = total === undefined ? undefined : new Uint8Array(total);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  req.onProgress?.({ loaded, total, url });
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (err) {
      if (req.signal?.aborted) throw aborted(err);
      throw new PretrainedError(
        'truncated',
        `the download of ${url} stopped after ${loaded}${total === undefined ? '' : ` of ${total}`} bytes (${reason(err)}): the connection dropped; nothing was cached; ${todo}`,
        at,
        { cause: err },
      );
    }
    if (step.done) break;
    const next = loaded + step.value.length;
    if (next > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`over ${next}`);
    }
    if (whole !== undefined) {
      if (next > whole.length) {
        await reader.cancel().catch(() => undefined);
        throw new PretrainedError(
          'truncated',
          `${url} sent more than the ${whole.length} bytes its Content-Length announced; nothing was cached; ${todo}`,
          at,
        );
      }
      whole.set(step.value, loaded);
    } else chunks.push(step.value);
    loaded = next;
    req.onProgress?.({ loaded, total, url });
  }
  if (total !== undefined && loaded !== total)
    throw new PretrainedError(
      'truncated',
      `the download of ${url} ended after ${loaded} of the ${total} bytes its Content-Length announced: truncated; nothing was cached; ${todo}`,
      at,
    );
  if (whole !== undefined) return whole;
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
