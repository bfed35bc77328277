// Command-line parsing shared by the subcommands: node:util's parseArgs in strict mode, user errors as UsageError
// (one line, exit code 2), and checked numbers.
import { parseArgs } from 'node:util';

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** Option specs as node:util's parseArgs takes them. */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parses `args` strictly; a wrong flag becomes a UsageError that points at `--help`. */
export function parse(args: string[], options: OptionSpecs, command: string) {
  try {
    const r = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see cnn ${command} --help)`);
  }
}

/** A string flag's value, or undefined. */
export function str(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** An integer flag in [min, max], or `fallback` when absent. */
export function int(values: Record<string, string | boolean | undefined>, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got '${v}'`);
  }
  return n;
}

/** A number flag in [min, max], or `fallback` when absent. */
export function num<T extends number | undefined>(values: Record<string, string | boolean | undefined>, name: string, fallback: T, min = 0, max = Infinity): number | T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got '${v}'`);
  }
  return n;
}

/** One of `choices`, or `fallback` when absent. */
export function choice<T extends string>(values: Record<string, string | boolean | undefined>, name: string, choices: readonly T[], fallback: T): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

/** Parses `HxWxC`. */
export function hwc(flag: string, value: string): [number, number, number] {
  const dims = value.split('x').map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UsageError(`--${flag} must be HxWxC of positive integers, e.g. 224x224x3 (got '${value}')`);
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
