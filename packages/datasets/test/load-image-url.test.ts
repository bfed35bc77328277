// loadImage with an http(s) URL in Node: downloaded from a real HTTP server this test starts on 127.0.0.1, with a
// time limit over the whole answer and a size limit checked from Content-Length and while the body streams in. Every
// failure is a DatasetError naming the URL; every hostile server (silent, trickling, endless, lying about its size)
// is stopped within its limit, and the test reports how long each took.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatasetError,
  DatasetUsageError,
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_IMAGE_BYTES,
  loadImage,
} from '../src/index';
import { put, tempDir } from './helpers';

const W = 7;
const H = 3;
const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 53 + 11) % 256);
let png: Uint8Array;

/** Every request the server got, and how many body bytes each answer had sent when its connection closed. */
const log: Array<{ path: string; sent: number; closed: boolean }> = [];
let base = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const entry = { path: req.url ?? '', sent: 0, closed: false };
  log.push(entry);
  const write = (chunk: Uint8Array) => {
    entry.sent += chunk.length;
    return res.write(chunk);
  };
  res.on('close', () => {
    entry.closed = true;
  });
  const timers: NodeJS.Timeout[] = [];
  res.on('close', () => {
    for (const t of timers) clearInterval(t);
  });
  switch (req.url) {
    case '/scene.png':
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      write(png);
      res.end();
      return;
    case '/chunked.png': // no Content-Length: the body comes in two chunks
      res.writeHead(200, { 'content-type': 'image/png' });
      write(png.subarray(0, 10));
      write(png.subarray(10));
      res.end();
      return;
    case '/moved':
      res.writeHead(302, { location: '/scene.png' });
      res.end();
      return;
    case '/missing.png':
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
      return;
    case '/broken':
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down for maintenance');
      return;
    case '/text':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('this is not an image');
      return;
    case '/announced-large': // says 50 MB, and would send it
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 50_000_000 });
      timers.push(setInterval(() => write(new Uint8Array(65536)), 5));
      return;
    case '/endless': // chunked, 64 KiB every few ms, forever
      res.writeHead(200, { 'content-type': 'image/png' });
      timers.push(setInterval(() => write(new Uint8Array(65536)), 2));
      return;
    case '/understated': // announces 100 bytes, then keeps sending (on a connection it says it closes)
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100, connection: 'close' });
      write(new Uint8Array(100));
      // Node refuses to write past a Content-Length; the socket is written to directly, as a lying server would.
      timers.push(setInterval(() => res.socket?.write(new Uint8Array(65536)), 2));
      return;
    case '/silent': // accepts the request, never answers
      return;
    case '/trickle': // answers at once, then one byte every 50 ms
      res.writeHead(200, { 'content-type': 'image/png' });
      timers.push(setInterval(() => write(new Uint8Array(1)), 50));
      return;
    default:
      res.writeHead(404);
      res.end();
  }
});

beforeAll(async () => {
  png = new Uint8Array(
    await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The rejection of `run`, with how long it took (logged and returned). */
async function refusal(label: string, run: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  console.log(`[load-image-url] ${label}: ${ms.toFixed(0)} ms`);
  return { err, ms };
}

function expectDatasetError(err: unknown, url: string, reason: RegExp): void {
  expect(err).toBeInstanceOf(DatasetError);
  expect((err as DatasetError).file).toBe(url);
  expect((err as DatasetError).reason).toMatch(reason);
}

/** Waits until the server has seen the connection of the last request to `path` close (the client hung up). */
async function closedByClient(path: string): Promise<{ sent: number }> {
  const entry = log.filter((e) => e.path === path).at(-1);
  expect(entry, `no request to ${path}`).toBeDefined();
  for (let i = 0; i < 200 && !entry?.closed; i++) await new Promise((r) => setTimeout(r, 25));
  expect(entry?.closed, `the connection of ${path} is still open`).toBe(true);
  return { sent: entry?.sent ?? 0 };
}

describe('loadImage(url) in Node', () => {
  it('an http URL gives the same pixels as the file, with or without Content-Length, through a redirect', async () => {
    const file = put(join(tempDir('load-image-url'), 'scene.png'), png);
    const fromFile = await loadImage(file);
    expect(Array.from(fromFile.data)).toEqual(Array.from(rgb));
    for (const path of ['/scene.png', '/chunked.png', '/moved']) {
      const img = await loadImage(`${base}${path}`);
      expect([img.height, img.width, img.channels], path).toEqual([H, W, 3]);
      expect(Array.from(img.data), path).toEqual(Array.from(rgb));
    }
    const grey = await loadImage(`${base}/scene.png`, 1, { timeoutMs: 20_000, maxBytes: png.length });
    expect(Array.from(grey.data)).toEqual(Array.from((await loadImage(file, 1)).data));
    expect([DEFAULT_MAX_IMAGE_BYTES, DEFAULT_FETCH_TIMEOUT_MS]).toEqual([2 ** 28, 30_000]);
  });

  it('HTTP errors, an unreachable server and a body that is not an image are DatasetErrors naming the URL', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['404', `${base}/missing.png`, /^no such file \(HTTP 404 Not Found\)$/],
      ['503', `${base}/broken`, /^cannot be fetched \(HTTP 503 Service Unavailable\)$/],
      ['not an image', `${base}/text`, /cannot be decoded as an image/],
    ];
    // A port nothing listens on: a server started and closed again.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    cases.push(['connection refused', `http://127.0.0.1:${port}/x.png`, /^cannot be fetched \(.*ECONNREFUSED/]);
    for (const [label, url, reason] of cases) {
      const { err } = await refusal(label, () => loadImage(url));
      expectDatasetError(err, url, reason);
    }
  });

  it('a body over maxBytes is refused from Content-Length, or cut off as it streams in; the download stops', async () => {
    const big = `${base}/announced-large`;
    const a = await refusal('announced 50 MB, maxBytes 1 MB', () => loadImage(big, { maxBytes: 1_000_000 }));
    expectDatasetError(
      a.err,
      big,
      /^is 50,000,000 bytes, over the limit of 1,000,000 bytes \(raise the maxBytes option/,
    );
    expect(a.ms).toBeLessThan(20_000);
    await closedByClient('/announced-large');

    const endless = `${base}/endless`;
    const r = await refusal('endless, maxBytes 1 MB', () => loadImage(endless, { maxBytes: 1_000_000 }));
    expectDatasetError(r.err, endless, /^is more than 1,0\d\d,\d\d\d bytes, over the limit of 1,000,000 bytes/);
    expect(r.ms).toBeLessThan(20_000);
    const { sent } = await closedByClient('/endless');
    console.log(`[load-image-url] /endless: the server had sent ${sent} body bytes when the client hung up`);

    // A server that sends more than its Content-Length: only the announced bytes are read (here not an image).
    const understated = `${base}/understated`;
    const u = await refusal('understated Content-Length', () => loadImage(understated, { maxBytes: 1_000_000 }));
    expectDatasetError(u.err, understated, /^cannot be decoded as an image/);
    expect(u.ms).toBeLessThan(20_000);
    // The default applies to a file as well: one over maxBytes is refused from its size.
    const file = put(join(tempDir('load-image-url-size'), 'scene.png'), png);
    const f = await refusal('file over maxBytes', () => loadImage(file, { maxBytes: png.length - 1 }));
    expectDatasetError(f.err, file, new RegExp(`^is ${png.length} bytes, over the limit of ${png.length - 1} bytes`));
  });

  it('a server that never answers, or trickles, is stopped at timeoutMs with a DatasetError naming the limit', async () => {
    for (const path of ['/silent', '/trickle']) {
      const url = `${base}${path}`;
      const r = await refusal(`${path}, timeoutMs 400`, () => loadImage(url, { timeoutMs: 400 }));
      expectDatasetError(
        r.err,
        url,
        /^no complete answer within 400 ms, the download was stopped \(raise the timeoutMs option/,
      );
      expect(r.ms).toBeGreaterThanOrEqual(380);
      expect(r.ms).toBeLessThan(20_000);
      await closedByClient(path);
    }
  });

  it('bad limits are DatasetUsageErrors, before any request is made', async () => {
    const before = log.length;
    for (const [options, reason] of [
      [{ timeoutMs: 0 }, /^timeoutMs must be a positive integer, got 0$/],
      [{ timeoutMs: 2 ** 31 }, /^timeoutMs must be at most 2,147,483,647 \(24.8 days\), got 2147483648$/],
      [{ maxBytes: 1.5 }, /^maxBytes must be a positive integer, got 1.5$/],
      [{ maxBytes: '1000' }, /^maxBytes must be a positive integer, got string$/],
    ] as const) {
      const err = await loadImage(`${base}/scene.png`, options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatasetUsageError);
      expect((err as DatasetUsageError).op).toBe('loadImage');
      expect((err as DatasetUsageError).reason).toMatch(reason);
    }
    expect(log.length).toBe(before);
  });
});
