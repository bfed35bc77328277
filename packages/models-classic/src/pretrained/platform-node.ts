// Weights on Node: an explicit file, a folder named by CNN_WEIGHTS_DIR, the cache under $CNN_HOME/weights, or the
// network. Cache entries are written atomically (a temporary file in the same folder, then a rename), the weights
// file last, after its `<file>.sha256` record: two processes may both download, one rename wins, and no reader ever
// sees a torn file. A cache hit is verified against its recorded SHA-256; a damaged entry is removed and fetched again.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PretrainedError } from '../errors';
import {
  MAX_WEIGHTS_BYTES,
  checkPrefix,
  downloadBytes,
  downloadUrl,
  type WeightsRequest,
  type WeightsStore,
} from './download';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

/** `$CNN_HOME`, else `~/.cache/cnn`. */
export function cnnHome(): string {
  const home = process.env.CNN_HOME;
  return home !== undefined && home !== '' ? home : join(homedir(), '.cache', 'cnn');
}

/** Writes `data` to `path` atomically: a temporary file beside it, then a rename; the temporary file never stays. */
async function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** How old a temporary file of the cache must be before a later download removes it: a day (its writer died). */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** Removes temporary files of `file` left in `dir` by processes killed mid-write (older than a day); best effort. */
async function removeStaleTemps(dir: string, file: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  for (const name of names) {
    if (!name.endsWith('.tmp') || !(name.startsWith(`.${file}.`) || name.startsWith(`.${file}.sha256.`))) continue;
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s?.isFile() && now - s.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true }).catch(() => undefined);
  }
}

/** A regular file's bytes, or undefined when there is nothing at `path`. */
async function readIfFile(path: string, max: number): Promise<Uint8Array | undefined> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    size = s.size;
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return undefined;
    throw e;
  }
  if (size > max)
    throw new PretrainedError(
      'too-large',
      `${path} is ${size} bytes, over the limit of ${max} bytes for a weights file`,
      {
        path,
      },
    );
  return readFile(path);
}

async function readLocal(path: string, req: WeightsRequest, how: string): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readIfFile(path, req.maxBytes ?? MAX_WEIGHTS_BYTES);
  } catch (e) {
    if (e instanceof PretrainedError) throw e;
    throw new PretrainedError(
      'file',
      `cannot read ${path} (${how}): ${code(e) ?? (e as Error).message}`,
      { path },
      {
        cause: e,
      },
    );
  }
  if (bytes === undefined)
    throw new PretrainedError('file', `${path} (${how}) is not a file; download ${req.url} there by hand`, {
      path,
      url: req.url,
    });
  checkPrefix(sha256(bytes), req, `the file ${path} (${how})`, { path, url: req.url }, `download ${req.url} again`);
  return bytes;
}

/** The cache entry's bytes when it is intact; a damaged one (hash differs from its record) is removed. */
async function readCached(path: string, req: WeightsRequest): Promise<Uint8Array | undefined> {
  const bytes = await readIfFile(path, req.maxBytes ?? MAX_WEIGHTS_BYTES);
  if (bytes === undefined) return undefined;
  let recorded: string | undefined;
  try {
    recorded = (await readFile(`${path}.sha256`, 'utf8')).trim();
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
  }
  const digest = sha256(bytes);
  const intact = digest.startsWith(req.sha256Prefix.toLowerCase()) && (recorded === undefined || recorded === digest);
  if (intact) {
    // A file put in the cache by hand: record its hash now, so that later hits are checked against all of it.
    if (recorded === undefined) await atomicWrite(`${path}.sha256`, `${digest}\n`);
    return bytes;
  }
  await rm(path, { force: true });
  await rm(`${path}.sha256`, { force: true });
  return undefined;
}

/** The Node store. */
export const store: WeightsStore = {
  async fetchWeights(req) {
    if (req.localFile !== undefined) return readLocal(req.localFile, req, 'the file option');
    const folder = process.env.CNN_WEIGHTS_DIR;
    if (folder !== undefined && folder !== '') {
      const inFolder = join(folder, req.file);
      let bytes: Uint8Array | undefined;
      try {
        bytes = await readIfFile(inFolder, req.maxBytes ?? MAX_WEIGHTS_BYTES);
      } catch {
        bytes = undefined; // unreadable: look in the cache and the network as if it were not there
      }
      if (bytes !== undefined) {
        checkPrefix(
          sha256(bytes),
          req,
          `the file ${inFolder} (found through CNN_WEIGHTS_DIR)`,
          { path: inFolder, url: req.url },
          `download ${req.url} again`,
        );
        return bytes;
      }
    }
    const dir = req.cacheDir ?? join(cnnHome(), 'weights');
    const path = join(dir, req.file);
    const todo = `download it by hand to ${path} (or into a folder named by CNN_WEIGHTS_DIR)`;
    const url = downloadUrl(req, process.env.CNN_WEIGHTS_URL);
    try {
      const hit = await readCached(path, req);
      if (hit) return hit;
      await mkdir(dir, { recursive: true });
      await removeStaleTemps(dir, req.file);
    } catch (e) {
      if (e instanceof PretrainedError) throw e;
      throw new PretrainedError(
        'file',
        `the weights cache ${path} cannot be used (${code(e) ?? (e as Error).message}); set CNN_HOME to a writable folder, or pass cacheDir`,
        { path, url },
        { cause: e },
      );
    }
    const bytes = await downloadBytes(url, req, { path }, `try again, or ${todo}`);
    const digest = sha256(bytes);
    checkPrefix(
      digest,
      req,
      `the download from ${url}`,
      { url, path },
      `nothing was cached; check the URL (or the mirror), or ${todo}`,
    );
    try {
      await atomicWrite(`${path}.sha256`, `${digest}\n`);
      await atomicWrite(path, bytes);
    } catch (e) {
      throw new PretrainedError(
        'file',
        `cannot write the weights cache ${path} (${code(e) ?? (e as Error).message}); set CNN_HOME to a writable folder, or pass cacheDir`,
        { path, url },
        { cause: e },
      );
    }
    return bytes;
  },

  async readShipped(url) {
    if (url.protocol === 'file:') return readFile(url);
    const res = await fetch(url);
    if (!res.ok)
      throw new PretrainedError('http', `fetching ${url.href} failed: HTTP ${res.status}`, { url: url.href });
    return new Uint8Array(await res.arrayBuffer());
  },
};
