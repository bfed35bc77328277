// Short renderings of values for error messages. A message never spells out a value in full: a crafted file can
// hold a key that is a tuple of tuples sharing their halves (2^40 leaves in 200 bytes), a string of 100 MB or an
// array nested 100,000 deep. Every function here writes into a fixed budget of characters and stops as soon as it
// is spent, and descends at most PREVIEW_DEPTH levels, so its work is bounded by the budget whatever the value.

/** The most characters (before the trailing `...`) that a value quoted in a message takes. */
export const PREVIEW_CHARS = 80;

/** The deepest a preview descends into nested values; deeper ones print as `...`. */
const PREVIEW_DEPTH = 16;

/** A string builder that keeps at most `max` characters and remembers whether anything was cut. */
class Budget {
  private readonly parts: string[] = [];
  private left: number;
  /** True once something did not fit: the walkers stop there. */
  full = false;

  constructor(max: number) {
    this.left = max;
  }

  add(s: string): void {
    if (this.full) return;
    if (s.length > this.left) {
      this.parts.push(s.slice(0, this.left));
      this.left = 0;
      this.full = true;
      return;
    }
    this.parts.push(s);
    this.left -= s.length;
  }

  /** Adds `s`, reading no more of it than fits (so a 100 MB string costs no more than a short one). */
  addPrefix(s: string): void {
    this.add(s.length > this.left ? s.slice(0, this.left + 1) : s);
  }

  toString(): string {
    return this.parts.join('') + (this.full ? '...' : '');
  }
}

/** `s` itself when it has at most `max` characters, else its first `max - 3` and `...`. */
export function clipText(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/**
 * A Python-like rendering of an unpickled value (`(3, 4)`, `[1, 'x']`, `{'a': None}`, `True`), cut to `max`
 * characters. Tuples are frozen arrays, dicts Maps; other objects print as `typeName(value)`.
 */
export function pyPreview(value: unknown, typeName: (v: unknown) => string, max = PREVIEW_CHARS): string {
  const out = new Budget(max);
  const walk = (v: unknown, depth: number): void => {
    if (out.full) return;
    if (Array.isArray(v)) {
      if (depth >= PREVIEW_DEPTH) return out.add('...');
      const tuple = Object.isFrozen(v);
      out.add(tuple ? '(' : '[');
      for (let i = 0; i < v.length && !out.full; i++) {
        if (i > 0) out.add(', ');
        walk(v[i], depth + 1);
      }
      if (tuple && v.length === 1) out.add(',');
      out.add(tuple ? ')' : ']');
    } else if (v instanceof Map) {
      if (depth >= PREVIEW_DEPTH) return out.add('...');
      out.add('{');
      let first = true;
      for (const [k, x] of v) {
        if (out.full) break;
        if (!first) out.add(', ');
        first = false;
        walk(k, depth + 1);
        out.add(': ');
        walk(x, depth + 1);
      }
      out.add('}');
    } else if (typeof v === 'string') {
      out.add("'");
      out.addPrefix(v);
      out.add("'");
    } else if (v === null) {
      out.add('None');
    } else if (typeof v === 'boolean') {
      out.add(v ? 'True' : 'False');
    } else if (typeof v === 'number' || typeof v === 'bigint') {
      out.add(String(v)); // the pickle VM bounds integers to a few dozen bytes
    } else if (v instanceof Uint8Array) {
      out.add(`<${v.length} bytes>`);
    } else {
      out.add(typeName(v));
    }
  };
  walk(value, 0);
  return out.toString();
}

/**
 * A JSON-like rendering of a value (what `JSON.stringify` writes, compact), cut to `max` characters. Safe on any
 * value: cycles, depth and size cost no more than the budget; what JSON cannot hold prints as `String(value)`.
 */
export function jsonPreview(value: unknown, max = PREVIEW_CHARS): string {
  const out = new Budget(max);
  const walk = (v: unknown, depth: number): void => {
    if (out.full) return;
    if (typeof v === 'string') {
      // JSON.stringify of a prefix: escapes as JSON does, reading only what fits.
      const quoted = JSON.stringify(v.length > max ? v.slice(0, max) : v);
      out.add(v.length > max ? quoted.slice(0, -1) : quoted);
      if (v.length > max) out.full = true;
    } else if (typeof v === 'number') {
      out.add(Number.isFinite(v) ? String(v) : 'null');
    } else if (typeof v === 'boolean' || v === null) {
      out.add(String(v));
    } else if (Array.isArray(v)) {
      if (depth >= PREVIEW_DEPTH) return out.add('...');
      out.add('[');
      for (let i = 0; i < v.length && !out.full; i++) {
        if (i > 0) out.add(',');
        walk(v[i], depth + 1);
      }
      out.add(']');
    } else if (typeof v === 'object' && !ArrayBuffer.isView(v) && Object.getPrototypeOf(v) === Object.prototype) {
      if (depth >= PREVIEW_DEPTH) return out.add('...');
      out.add('{');
      let first = true;
      for (const k in v as Record<string, unknown>) {
        if (out.full) break;
        if (!Object.hasOwn(v, k)) continue;
        if (!first) out.add(',');
        first = false;
        walk(k, depth + 1);
        out.add(':');
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
      out.add('}');
    } else if (ArrayBuffer.isView(v)) {
      out.add(
        `${(v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] ?? 'view'}(${(v as { length?: number }).length ?? v.byteLength})`,
      );
    } else {
      let s: string;
      try {
        s = typeof v === 'object' || typeof v === 'function' ? Object.prototype.toString.call(v) : String(v);
      } catch {
        s = typeof v;
      }
      out.addPrefix(s);
    }
  };
  walk(value, 0);
  return out.toString();
}

/** `[64, 3, 7, 7]`: a shape as messages print it, at most the first 16 dimensions of a longer one. */
export function previewShape(shape: readonly unknown[]): string {
  if (shape.length <= 16) return `[${shape.join(', ')}]`;
  return `[${shape.slice(0, 16).join(', ')}, ... (${shape.length} dimensions)]`;
}
