// Weights in a page: fetched, verified with SubtleCrypto and kept in the Cache Storage API (cache 'cnn-weights',
// keyed by URL, each response carrying its SHA-256 in a header). Both APIs exist only in secure contexts (https://,
// http://localhost, http://127.0.0.1): anywhere else loading fails with a PretrainedError that says so.
import { PretrainedError } from '../errors';
import { checkPrefix, downloadBytes, downloadUrl, hex, type WeightsRequest, type WeightsStore } from './download';

/** The Cache Storage cache that holds downloaded weights when no `cacheDir` names another. */
const CACHE_NAME = 'cnn-weights';
const HASH_HEADER = 'x-cnn-sha256';

function secureApis(req: WeightsRequest): { subtle: SubtleCrypto; caches: CacheStorage } {
  const g = globalThis as { isSecureContext?: boolean; crypto?: Crypto; caches?: CacheStorage; location?: Location };
  const subtle = g.crypto?.subtle;
  if (g.isSecureContext === false || subtle === undefined || g.caches === undefined) {
    const origin = g.location?.origin ?? 'this page';
    throw new PretrainedError(
      'insecure-context',
      `loadPretrained needs SubtleCrypto (to check ${req.file}'s SHA-256) and the Cache Storage API, which browsers give only to secure contexts; ${origin} is not one: serve the page over https://, or from http://localhost or http://127.0.0.1 while developing`,
      { url: req.url },
    );
  }
  return { subtle, caches: g.caches };
}

/** The browser store. */
export const store: WeightsStore = {
  async fetchWeights(req) {
    if (req.localFile !== undefined)
      throw new PretrainedError(
        'options',
        `the file option reads a local file in Node; in a page, serve ${req.file} from your own server and pass its folder's URL as baseUrl`,
      );
    const { subtle, caches } = secureApis(req);
    const url = downloadUrl(req);
    const cacheName = req.cacheDir ?? CACHE_NAME;
    const where = { url, path: `Cache Storage '${cacheName}'` };
    const digestOf = async (b: Uint8Array) => hex(await subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));
    const cache = await caches.open(cacheName);
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      const digest = await digestOf(bytes);
      if (digest === hit.headers.get(HASH_HEADER) && digest.startsWith(req.sha256Prefix.toLowerCase())) return bytes;
      await cache.delete(url); // damaged: fetched again below
    }
    const todo = `serve ${req.file} from your own server and pass its folder's URL as baseUrl`;
    const bytes = await downloadBytes(url, req, where, `try again, or ${todo}`);
    const digest = await digestOf(bytes);
    checkPrefix(
      digest,
      req,
      `the download from ${url}`,
      where,
      `nothing was cached; check the URL (or the mirror), or ${todo}`,
    );
    try {
      await cache.put(
        url,
        new Response(bytes as Uint8Array<ArrayBuffer>, {
          headers: { 'content-type': 'application/octet-stream', [HASH_HEADER]: digest },
        }),
      );
    } catch {
      // Over the origin's storage quota: the weights are verified and used, only not kept for the next load.
    }
    return bytes;
  },

  async readShipped(url) {
    const res = await fetch(url);
    if (!res.ok)
      throw new PretrainedError('http', `fetching ${url.href} failed: HTTP ${res.status}`, { url: url.href });
    return new Uint8Array(await res.arrayBuffer());
  },
};
