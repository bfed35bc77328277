// The contract between the C kernels and the TypeScript that calls them: src/wasm/kernel-abi.ts is generated from
// kernels.c's OP_ enum and struct conv, and must be exactly what kernels.c gives today. The drift cases edit a copy of
// the real kernels.c the way a contributor might and check that each one is caught.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNEL_ABI_TS, parseKernelAbi, renderKernelAbi } from '../scripts/kernel-abi.mjs';
import { KERNEL_OPS, PARAM_FIELDS, PARAM_WORDS, type ConvParams } from '../src/wasm/kernel-abi';
import { writeParams } from '../src/wasm/module';

const root = new URL('../', import.meta.url);
const kernelsC = readFileSync(fileURLToPath(new URL('src/wasm/kernels.c', root)), 'utf8');
const committed = readFileSync(fileURLToPath(new URL(KERNEL_ABI_TS, root)), 'utf8');
const generate = (source: string): string => renderKernelAbi(parseKernelAbi(source));

/** kernels.c with `from` replaced by `to`; fails if `from` is not in it (the test would check nothing). */
function edited(from: string, to: string): string {
  expect(kernelsC).toContain(from);
  return kernelsC.replace(from, to);
}

describe('kernel contract (kernels.c <-> src/wasm/kernel-abi.ts)', () => {
  it('kernel-abi.ts is what kernels.c gives (else run `npm run build:kernels -w @cnn/tensor`)', () => {
    expect(generate(kernelsC)).toBe(committed);
  });

  it('the generated module matches the parsed enum and struct, one word per field', () => {
    const { ops, fields } = parseKernelAbi(kernelsC);
    expect(Object.entries(KERNEL_OPS)).toEqual(ops.map((o) => [o.name, o.value]));
    expect([...PARAM_FIELDS]).toEqual(fields.map((f) => f.name));
    expect(PARAM_WORDS).toBe(fields.length);
    for (const f of fields) expect(['int', 'float*']).toContain(f.type);
    expect(new Set(ops.map((o) => o.value)).size).toBe(ops.length);
  });

  it('catches two fields of struct conv swapped', () => {
    const swapped = edited(
      '  float* x;                    // input, or the input gradient\n  float* f;                    // filter, or the filter gradient\n',
      '  float* f;                    // filter, or the filter gradient\n  float* x;                    // input, or the input gradient\n',
    );
    expect(generate(swapped)).not.toBe(committed);
    expect(parseKernelAbi(swapped).fields.map((f) => f.name)).not.toEqual([...PARAM_FIELDS]);
  });

  it('catches a field added without updating the size check', () => {
    const added = edited('  int slots;', '  int extra;\n  int slots;');
    expect(() => parseKernelAbi(added)).toThrow(
      `struct conv has ${PARAM_WORDS + 1} fields but its _Static_assert says ${PARAM_WORDS} words`,
    );
  });

  it('catches a field added with the size check updated (the TypeScript side is then stale)', () => {
    const added = edited('  int slots;', '  int extra;\n  int slots;').replace(
      `sizeof(conv) == ${PARAM_WORDS} * 4`,
      `sizeof(conv) == ${PARAM_WORDS + 1} * 4`,
    );
    const text = generate(added);
    expect(text).not.toBe(committed);
    expect(text).toContain(`export const PARAM_WORDS = ${PARAM_WORDS + 1};`);
  });

  it('refuses a field that is not one 4-byte word, naming its line', () => {
    const wide = edited('  int slots;', '  double slots;');
    expect(() => parseKernelAbi(wide)).toThrow(
      /kernels\.c:\d+: struct conv field 'double slots;' is not an int or a pointer/,
    );
    const narrow = edited('  int slots;', '  char slots;');
    expect(() => parseKernelAbi(narrow)).toThrow(/kernels\.c:\d+: .*'char slots;' is not an int or a pointer/);
    const scalar = edited('  float* scratch;', '  float scratch;');
    expect(() => parseKernelAbi(scalar)).toThrow(/field 'scratch' is a float; only int and pointer fields/);
  });

  it('catches a renumbered or renamed kernel, and refuses two kernels with one number', () => {
    expect(generate(edited('OP_DW_FWD = 3,', 'OP_DW_FWD = 999,'))).not.toBe(committed);
    expect(generate(edited('OP_MAXPOOL_BWD = 6,', 'OP_POOL_BWD = 6,'))).toContain('  pool_bwd: 6,');
    expect(() => parseKernelAbi(edited('OP_DW_FWD = 3,', 'OP_DW_FWD = 2,'))).toThrow(/OP_DW_FWD repeats the value 2/);
  });

  it('refuses a kernels.c without the size check or the struct', () => {
    expect(() => parseKernelAbi(edited('_Static_assert(sizeof(conv)', '// (sizeof(conv)'))).toThrow(
      /missing _Static_assert\(sizeof\(conv\)/,
    );
    expect(() => parseKernelAbi(edited('} conv;', '} conv_params;'))).toThrow(
      /cannot find 'typedef struct \{ \.\.\. \} conv;'/,
    );
  });
});

describe('writeParams', () => {
  it('writes each field into its own word, by name, in the order of struct conv', () => {
    const params = Object.fromEntries(PARAM_FIELDS.map((name, i) => [name, 100 + i])) as unknown as ConvParams;
    const view = new Int32Array(PARAM_WORDS);
    writeParams(view, params);
    PARAM_FIELDS.forEach((name, i) => expect([name, view[i]]).toEqual([name, params[name]]));
  });

  it('keeps addresses above 2 GiB as the same unsigned 32-bit word', () => {
    const params = Object.fromEntries(PARAM_FIELDS.map((name) => [name, 1])) as unknown as ConvParams;
    params.x = 0x9000_0010;
    const view = new Int32Array(PARAM_WORDS);
    writeParams(view, params);
    expect(new Uint32Array(view.buffer)[PARAM_FIELDS.indexOf('x')]).toBe(0x9000_0010);
  });

  it('refuses a view that is not one parameter block', () => {
    const params = Object.fromEntries(PARAM_FIELDS.map((name) => [name, 1])) as unknown as ConvParams;
    expect(() => writeParams(new Int32Array(PARAM_WORDS - 1), params)).toThrow(
      `a parameter block is ${PARAM_WORDS} words, got a view of ${PARAM_WORDS - 1}`,
    );
  });
});
