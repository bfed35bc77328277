// Types of kernel-abi.mjs, for the TypeScript tests that import it.

/** One kernel of the OP_ enum: its C name (`OP_CONV_FWD`), TypeScript name (`conv_fwd`), number and comment. */
export interface KernelAbiOp {
  c: string;
  name: string;
  value: number;
  comment: string;
}

/** One field of struct conv: its name, C type (`int` or `float*`) and comment. */
export interface KernelAbiField {
  name: string;
  type: string;
  comment: string;
}

/** The generated file, relative to the package root. */
export const KERNEL_ABI_TS: string;

/** Reads the kernel contract (OP_ enum, struct conv) from the text of kernels.c; throws naming a line it cannot read. */
export function parseKernelAbi(source: string): { ops: KernelAbiOp[]; fields: KernelAbiField[] };

/** The TypeScript module (src/wasm/kernel-abi.ts) for a contract read by {@link parseKernelAbi}. */
export function renderKernelAbi(abi: { ops: KernelAbiOp[]; fields: KernelAbiField[] }): string;
