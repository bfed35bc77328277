// Command-line parsing shared by the subcommands: node:util's parseArgs in strict mode, user errors as UsageError
// (one line, exit code 2), and checked numbers.
import { parseArgs } from 'node:util';

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {}

/**
 * The `--backend` choices of predict, eval, bench and train: the names @cnn/tensor's setBackend takes. A backend that
 * cannot start here (webgpu without an adapter, cuda without its libraries) is not a usage error: its own named
 * error (WebGpuBackendError, CudaBackendError) is printed whole, exit code 1.
 */
export const BACKEND_CHOICES = ['wasm', 'webgpu', 'cuda', 'cpu', 'auto'] as const;

/** Option specs as node:util's parseArgs takes them. */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Longest user value a message repeats; longer ones are cut, so a message stays one short line. */
export const QUOTE_MAX_CHARS = 80;

/**
 * A user's value for a message: in single quotes, or as a JSON string when it holds a quote or a control character
 * (so the quotes of the message stay balanced and it stays on one line), cut to {@link QUOTE_MAX_CHARS}.
 */
export function quote(value: string): string {
  const v = value.length > QUOTE_MAX_CHARS ? `${value.slice(0, QUOTE_MAX_CHARS)}...` : value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  return /['"\\\u0000-\u001f\u007f]/.test(v) ? JSON.stringify(v) : `'${v}'`;
}

/** Whether a command-line word is a number written with a leading minus (`-1`, `-0.5`, `-1e-3`, `-Infinity`). */
function isNegativeNumber(word: string): boolean {
  return /^-(\d|\.\d|Infinity$)/.test(word) && !Number.isNaN(Number(word));
}

/**
 * Joins a string option and a following negative number (`--epochs -1`) into `--epochs=-1`: parseArgs takes a
 * word that starts with '-' for an option and calls the value "ambiguous"; the range checks then say what is wrong.
 */
function joinNegativeValues(args: string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const long = a.startsWith('--') ? a.slice(2) : undefined;
    const short =
      !long && /^-[^-]$/.test(a) ? Object.entries(options).find(([, o]) => o.short === a.slice(1))?.[0] : undefined;
    const name = long ?? short;
    if (
      name !== undefined &&
      !name.includes('=') &&
      options[name]?.type === 'string' &&
      next !== undefined &&
      isNegativeNumber(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * The option a parseArgs error names: `--epochs` of "Option '--epochs <value>' argument missing", `--help` of
 * "Option '-h, --help' does not take an argument", `--b'x` of "Unknown option '--b'x'. To specify...".
 */
function optionOf(message: string): string {
  const unknown = /^Unknown option '(.*)'\. To specify/s.exec(message);
  if (unknown) return unknown[1]!;
  const known = /^Option '([^']*)'/.exec(message)?.[1]; // '--epochs <value>', '-h, --help'
  if (known === undefined) return '';
  return /--[^\s,<]+/.exec(known)?.[0] ?? known.split(/[\s,]/)[0]!;
}

/** Parses `args` strictly; a wrong flag becomes a one-line UsageError that names it and points at `--help`. */
export function parse(args: string[], options: OptionSpecs, command: string) {
  const all: OptionSpecs = { help: { type: 'boolean', short: 'h' }, ...options };
  const help = `(see cnn ${command} --help)`;
  try {
    const r = parseArgs({ args: joinNegativeValues(args, all), options: all, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const message = err.message.split('\n')[0]!;
    const opt = optionOf(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt)
      throw new UsageError(`unknown option ${quote(opt)} for cnn ${command} ${help}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
      if (/does not take an argument/.test(message)) throw new UsageError(`${opt} takes no value ${help}`);
      if (/ambiguous/.test(message))
        throw new UsageError(
          `${opt} needs a value, and the next word starts with '-'; to give such a value write ${opt}=<value> ${help}`,
        );
      throw new UsageError(`${opt} needs a value ${help}`);
    }
    throw new UsageError(`${message.replace(/['"]/g, '')} ${help}`);
  }
}

/** A string flag's value, or undefined. */
export function str(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function rangeText(kind: 'integer' | 'number', min: number, max: number, exclusiveMin = false): string {
  const upTo = Number.isFinite(max) && max !== Number.MAX_SAFE_INTEGER ? ` up to ${max}` : '';
  if (exclusiveMin && min === 0) return `a positive ${kind}${upTo}`;
  if (kind === 'integer' && min === 1) return `a positive integer${upTo}`;
  if (min === 0) return `a non-negative ${kind}${upTo}`;
  return upTo
    ? `${kind === 'integer' ? 'an integer' : 'a number'} in [${min}, ${max}]`
    : `${kind === 'integer' ? 'an integer' : 'a number'} >= ${min}`;
}

/** An integer flag in [min, max], or `fallback` when absent. */
export function int(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be ${rangeText('integer', min, max)}, got ${quote(v)}`);
  }
  return n;
}

/** Options of {@link num}. */
export interface NumOptions {
  /** The smallest value allowed (default 0). */
  min?: number;
  /** The largest value allowed (default Infinity). */
  max?: number;
  /** Whether `min` itself is refused (`lr > 0`). */
  exclusiveMin?: boolean;
}

/** A finite number flag in [min, max] (or (min, max] with `exclusiveMin`), or `fallback` when absent. */
export function num<T extends number | undefined>(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: T,
  min: number | NumOptions = 0,
  max = Infinity,
): number | T {
  const o: NumOptions = typeof min === 'number' ? { min, max } : min;
  const lo = o.min ?? 0;
  const hi = o.max ?? Infinity;
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi || (o.exclusiveMin && n === lo)) {
    throw new UsageError(`--${name} must be ${rangeText('number', lo, hi, o.exclusiveMin)}, got ${quote(v)}`);
  }
  return n;
}

/** One of `choices`, or `fallback` when absent. */
export function choice<T extends string>(
  values: Record<string, string | boolean | undefined>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${quote(v)}`);
  return v as T;
}

/** Parses `HxWxC`. */
export function hwc(flag: string, value: string): [number, number, number] {
  const dims = value.split('x').map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UsageError(`--${flag} must be HxWxC of positive integers, e.g. 224x224x3 (got ${quote(value)})`);
  }
  return dims as [number, number, number];
}

/** `1,234,567`. */
export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** A table with the first column left-aligned and the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
