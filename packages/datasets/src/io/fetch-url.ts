// Downloads a whole http(s) resource with the two limits a download needs: a time limit that covers the whole answer
// (headers and body, so a server that trickles bytes is stopped as surely as one that never answers) and a size limit
// checked from Content-Length and again while the body streams in. No Node built-in: the global fetch of Node 20+ and
// of browsers.
import { DatasetError } from '../errors';
import { count } from '../limits';

/** Whether `s` is an absolute `http:` or `https:` URL (what {@link fetchBytes} downloads). */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** The limits of one download. */
export interface FetchLimits {
  /** The most bytes the answer's body may have. */
  maxBytes: number;
  /** The most milliseconds from the request to the body's last byte. */
  timeoutMs: number;
  /** Appended to the "over the limit" message: which option raises it. */
  bytesHint: string;
  /** Appended to the "timed out" message: which option raises it. */
  timeoutHint: string;
}

/** The message of an error and of its cause (Node's fetch says "fetch failed" and puts the reason in `cause`). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message.split('\n')[0] : '';
  const own = err.message.split('\n')[0];
  return cause && cause !== own ? `${own}: ${cause}` : own;
}

/**
 * The body of `url`, whole. Every failure is a {@link DatasetError} naming the URL: no answer or a network error
 * ("cannot be fetched (...)"), an HTTP status other than 2xx ("no such file (HTTP 404)", "cannot be fetched (HTTP
 * 503 ...)"), a body announced or found to be over `limits.maxBytes` (the download stops there), or no complete
 * answer within `limits.timeoutMs` (the request is aborted).
 */
export async function fetchBytes(url: string, limits: FetchLimits): Promise<Uint8Array> {
  const { maxBytes, timeoutMs } = limits;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const failure = (err: unknown): DatasetError =>
    err instanceof DatasetError
      ? err
      : timedOut
        ? new DatasetError(
            url,
            `no complete answer within ${count(timeoutMs)} ms, the download was stopped${limits.timeoutHint}`,
            { cause: err },
          )
        : new DatasetError(url, `cannot be fetched (${describe(err)})`, { cause: err });
  const over = (n: number, more: boolean): DatasetError =>
    new DatasetError(
      url,
      `is ${more ? 'more than ' : ''}${count(n)} bytes, over the limit of ${count(maxBytes)} bytes${limits.bytesHint}`,
    );
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      throw new DatasetError(url, res.status === 404 ? `no such file (${status})` : `cannot be fetched (${status})`);
    }
    const announced = Number(res.headers.get('content-length') ?? Number.NaN);
    if (announced > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw over(announced, false);
    }
    if (!res.body) return new Uint8Array(0);
    // Streamed and counted: a server that sends more than it announced (or announced nothing) is cut off at the limit.
    reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      total += r.value.length;
      if (total > maxBytes) throw over(total, true);
      parts.push(r.value);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  } catch (err) {
    throw failure(err);
  } finally {
    clearTimeout(timer);
    // Stops the transfer on every early exit (limit, error); a finished body is already closed.
    controller.abort();
    reader?.cancel().catch(() => undefined);
  }
}
