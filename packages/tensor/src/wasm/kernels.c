// cnn's WebAssembly SIMD kernels for convolution training and grouped convolution.
//
// The module imports the linear memory of tfjs's wasm backend, so every kernel reads its inputs from
// and writes its outputs into tensors that the backend owns: nothing is copied in or out.
// It uses no shadow stack and no static data (the build checks this), so it never touches memory
// that it was not handed. Tensors are NHWC; filters are [kh, kw, cin / groups, cout] for
// convolution and [kh, kw, channels, multiplier] for depthwise convolution.
//
// Three loop nests do all the work of a (grouped, strided, dilated, padded) convolution:
//  - igemm:  C[rows, cols] = sum over taps t and depth k of A_t[row][k] * B[t, k][cols], where the
//            row of A for each output pixel and tap is found through a table of pointers (an
//            "indirection buffer": a pointer into the input, or to a zero row for padding). It
//            computes the forward convolution and, with the filter transposed, the input gradient.
//  - rgemm:  the filter gradient, a reduction over output pixels of input patches times dy.
//  - depthwise loops vectorised along channels.
// Plus Winograd F(2x2, 3x3) for stride-1 3x3 forward convolution (its filter transform, then input
// transform, 16 register-tiled products and output transform) and an element-wise pass; the forward
// kernels (igemm, depthwise, Winograd) add a bias and apply ReLU / ReLU6 to their output when asked.
// Each kernel is given one parameter block (struct conv) laid out as 4-byte fields, and splits its
// work into units that threads can share (see "Work split" below).

#include <wasm_simd128.h>

// Each kernel's run function (the ones run() at the end dispatches to) is its own WebAssembly function
// (KERNEL): inlined, they made run() one function of some 25,000 instructions, and once the training
// kernels had joined this file the Winograd products in it ran 10-15 % slower than before (clang's
// choices inside one huge function change with everything else in it). One function per kernel keeps
// each kernel's code independent of the others: a standalone harness of OP_WINO_FWD (resnet 56x56x64,
// batch 8, 1 thread, best of 30) took 26.4 ms at 0b63961, 29.9 ms before this and 26.4 ms after.
#define KERNEL __attribute__((noinline))

// The contract with the TypeScript side. scripts/build-kernels.mjs reads the OP_ enum and struct conv
// below (their names, values and field order) and generates src/wasm/kernel-abi.ts from them, which
// module.ts uses to number the kernels and to fill the parameter block field by field; a test fails
// when the two disagree. Every field is one 4-byte word (int, or a pointer on wasm32), so field i is
// word i of the block: keep it so (the static assert below checks the size), and rebuild after any
// change here (npm run build:kernels -w @cnn/tensor).

// One kernel's parameter block. TypeScript allocates it in the backend's memory and fills it.
typedef struct {
  int n, h, w, c;              // input (x or dx)
  int oh, ow, co;              // output (y or dy)
  int kh, kw, sh, sw, dh, dw;  // kernel size, stride, dilation
  int pt, pl;                  // padding before the first row / column
  int groups;                  // groups (grouped conv); channels (depthwise)
  float* x;                    // input, or the input gradient
  float* f;                    // filter, or the filter gradient
  float* y;                    // output, or the output gradient
  float* scratch;              // at least scratch_bytes(op, p) bytes
  int slots;                   // threads that may run units at once, each with its own scratch slot
  float* bias;                 // forward kernels: bias per output channel, or 0 for none
  int act;                     // forward kernels: activation (ACT_ enum)
} conv;

_Static_assert(sizeof(conv) == 23 * 4, "struct conv must be one 4-byte word per field");

// The kernels: the `op` argument of scratch_bytes, prepare and run. In TypeScript each is named by its
// lower-case name without OP_ (OP_CONV_FWD is 'conv_fwd').
enum {
  OP_CONV_FWD = 0,         // convolution (grouped, strided, dilated, padded); bias, act
  OP_CONV_BWD_INPUT = 1,   // its input gradient
  OP_CONV_BWD_FILTER = 2,  // its filter gradient
  OP_DW_FWD = 3,           // depthwise convolution (one input channel per group); bias, act
  OP_DW_BWD_INPUT = 4,     // its input gradient
  OP_DW_BWD_FILTER = 5,    // its filter gradient
  OP_MAXPOOL_BWD = 6,      // max pooling's input gradient
  OP_WINO_FILTER = 7,      // Winograd F(2x2, 3x3): transform a 3x3 filter (f) into y, packed for OP_WINO_FWD
  OP_WINO_FWD = 8,         // Winograd F(2x2, 3x3) stride-1 3x3 convolution, f = transformed filter; bias, act
  OP_ELTWISE = 9,          // y = act(x (op) f) over n floats, f repeating every c floats; op in groups (EW_)
  OP_SHUFFLE2 = 10,        // y[r][2j], y[r][2j+1] = x[r][j], f[r][j] (j < c, r < n; rows of x are h floats)
  OP_BN_STATS = 11,        // training BatchNorm: y = [mean | biased variance] per channel of x (n rows of c)
  OP_BN_AFFINE = 12,       // training BatchNorm: y = act((x - mean) * scale + shift), f = [mean | scale | shift]
  OP_BN_BWD_SUMS = 13,     // its gradient: bias = [sum dy | sum dy * xhat], y = dy, f = [mean | invstd (| scale | shift)]
  OP_BN_BWD_INPUT = 14,    // its gradient: bias = dx = k1 (dy - m1 - (x - mean) k2), y = dy, f = [mean|k1|m1|k2(|scale|shift)]
  OP_TANH = 15,            // y = tanh(x) over n rows of c floats
  OP_TANH_GRAD = 16,       // its gradient: bias = dy * (1 - t * t), x = t (the forward output), y = dy
  OP_SGD_STEP = 17,        // SGD over n parameters: x = n records of SGD_WORDS words, f = [momentum, 1 - dampening]
  OP_ADAM_STEP = 18,       // Adam / AdamW over n parameters: x = n records of ADAM_WORDS, f = [b1, 1-b1, b2, 1-b2, eps]
  OP_PATCHES_T = 19,       // y = the input patches of a convolution, transposed: [kh * kw * c, n * oh * ow]
  OP_AVGPOOL_BWD = 20,     // average pooling's input gradient: y = dx (n, h, w, c) from x = dy (n, oh, ow, c)
  OP_COLUMN_SUM = 21,      // y[j] = sum over the n rows of x (c floats each) of x[r][j]: a bias's gradient
  OP_TRANSPOSE = 22,       // y = x transposed: n matrices of h rows by w columns into n of w rows by h columns
  OP_FILTER_C1 = 23,       // filter gradient f of a stride-1 undilated convolution with one input channel, y = dy
  OP_SE_GATE = 24,         // squeeze-and-excitation: y = x * hsigmoid(relu(mean(x) W1 + b1) W2 + b2); f = [W1,b1,W2,b2]
  OP_WINO4_FILTER = 25,    // Winograd F(4x4, 3x3): transform a 3x3 filter (f) into y, packed for OP_WINO4_FWD
  OP_WINO4_FWD = 26,       // Winograd F(4x4, 3x3) stride-1 3x3 convolution, f = transformed filter; bias, act
  OP_WINO_FILTER_T = 27,   // OP_WINO_FILTER for an input gradient: f [3][3][co][c] read flipped and transposed
  OP_WINO4_FILTER_T = 28,  // the same for OP_WINO4_FWD
  OP_CONV_PACK = 29,       // OP_CONV_FWD's set-up alone: pack f into scratch (kept by the caller); no units
  OP_CONV_FWD_PACKED = 30, // OP_CONV_FWD on a filter OP_CONV_PACK packed: scratch = that block; bias, act
  OP_MAXPOOL_FWD = 31,     // max pooling, forward (dilation 1), padding taken as -infinity (groups = c): y from x
  OP_RELU_GRAD = 32,       // ReLU (act ACT_RELU) or ReLU6 (ACT_RELU6) gradient: bias = dy * mask(x), y = dy, n x c floats
  OP_COPY_COLS = 33,       // y[r][pl + j] = x[r][j]: n rows of c floats into rows of co (one input of a last-axis concat)
};

// Element-wise operations of OP_ELTWISE (struct conv's groups; never 0, which the size checks refuse).
enum { EW_ADD = 1, EW_MUL = 2, EW_SUB = 3, EW_NONE = 4 };

// Activations fused into the output of OP_CONV_FWD and OP_WINO_FWD (struct conv's act); OP_ELTWISE also
// takes ACT_HSWISH, x * (relu6(x + 3) * (1 / 6)) (PyTorch's hard-swish, in the order cnn's ops computed it).
enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_HSWISH = 3 };

// Tile sizes of the GEMM-like loop nests.
//  - MR x NR = 4 x 8 is the register tile of the igemm and rgemm microkernels: 4 rows (output pixels
//    for igemm, input channels for rgemm) by 8 columns (output channels, two 4-lane f32x4 vectors).
//    Its 8 accumulators, the 2 vectors of B and one splatted A value fit in WebAssembly SIMD's 16
//    registers on x86-64 (engines map v128 locals to SSE/AVX xmm registers) without spilling, and
//    each A value loaded is used for 8 multiply-adds. The narrow-group variants (igemm_8x4,
//    rgemm_8x4) use the same 8 accumulators as 8 rows by 4 columns; packed filter panels are always
//    NR = 8 columns wide, zero-padded.
//  - RB = 256 is the number of output pixels (rows) in one block of work on one thread: the pointer
//    table of a block is RB * taps pointers (9 KB for a 3x3 kernel), which stays in L1/L2 cache with
//    the packed filter panel, and a block is large enough that building its table costs little next
//    to its multiply-adds. With several threads, blocks shrink (to no fewer than 32 rows) so that
//    each thread gets about four units (see block_rows). The scratch sizes below are computed from RB.
enum { MR = 4, NR = 8, RB = 256 };

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

static void fill_zero(float* p, int n) {
  int i = 0;
  v128_t z = wasm_f32x4_splat(0.f);
  for (; i + 4 <= n; i += 4) wasm_v128_store(p + i, z);
  for (; i < n; i++) p[i] = 0.f;
}

static inline v128_t load_part(const float* q, int n) {
  if (n >= 4) return wasm_v128_load(q);
  return wasm_f32x4_make(q[0], n > 1 ? q[1] : 0.f, n > 2 ? q[2] : 0.f, 0.f);
}

static inline void store_part(float* q, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(q, v);
    return;
  }
  q[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) q[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) q[2] = wasm_f32x4_extract_lane(v, 2);
}

// The clamping activations on 4 lanes: max(v, 0) for ACT_RELU, then min(., 6) for ACT_RELU6; ACT_LINEAR leaves v
// as it is (ACT_HSWISH only the element-wise pass takes, and applies before it gets here: ew_apply). Every kernel
// that fuses a ReLU or ReLU6 applies it through this, so a fused output has the same bits as any other path's.
static inline __attribute__((always_inline)) v128_t act4(v128_t v, int act) {
  if (act != ACT_LINEAR) v = wasm_f32x4_max(v, wasm_f32x4_splat(0.f));
  if (act == ACT_RELU6) v = wasm_f32x4_min(v, wasm_f32x4_splat(6.f));
  return v;
}

// The gradient mask of ReLU (act ACT_RELU) or ReLU6 (ACT_RELU6) at the activation's input v: step(v), times
// (v <= 6) for ReLU6, where step(v) = 1 for v > 0, 0 otherwise, and NaN for a NaN v: tfjs's gradients' mask, value
// for value (OP_RELU_GRAD, and BatchNorm's gradient with the activation folded in).
static inline __attribute__((always_inline)) v128_t relu_mask4(v128_t v, int act) {
  v128_t keep = wasm_f32x4_gt(v, wasm_f32x4_splat(0.f));
  if (act == ACT_RELU6) keep = wasm_v128_and(keep, wasm_f32x4_le(v, wasm_f32x4_splat(6.f)));
  // 1 where kept, 0 elsewhere, and the NaN itself where v is NaN (v != v).
  return wasm_v128_bitselect(v, wasm_v128_and(keep, wasm_f32x4_splat(1.f)), wasm_f32x4_ne(v, v));
}

// Adds bias[0..n) (if any) to row[0..n) and applies the activation (ACT_ enum) in place.
static void bias_act_row(float* row, int n, const float* bias, int act) {
  for (int j = 0; j < n; j += 4) {
    int nc = imin(4, n - j);
    v128_t v = load_part(row + j, nc);
    if (bias) v = wasm_f32x4_add(v, load_part(bias + j, nc));
    store_part(row + j, act4(v, act), nc);
  }
}

// ---------------------------------------------------------------------------------------------
// igemm microkernels. For each tap t, ind[t * MR + r] points at the depth-kc row of A for tile row
// r (offset by aoff floats); b holds the packed filter panel, [taps][kc][NR]; c[r] is the output
// row r (cols valid columns are written; rows past nrows are not written).

static inline void store_row(float* c, v128_t v0, v128_t v1, int cols) {
  if (cols >= 8) {
    wasm_v128_store(c, v0);
    wasm_v128_store(c + 4, v1);
    return;
  }
  if (cols >= 4) {
    wasm_v128_store(c, v0);
    c += 4;
    cols -= 4;
    v0 = v1;
  }
  if (cols > 0) c[0] = wasm_f32x4_extract_lane(v0, 0);
  if (cols > 1) c[1] = wasm_f32x4_extract_lane(v0, 1);
  if (cols > 2) c[2] = wasm_f32x4_extract_lane(v0, 2);
}

// The forward convolution's epilogue, on a tile row still in registers: v0, v1 (columns [0, 4) and [4, 8)) plus
// the bias of those columns (if any), then the activation; the operations of bias_act_row in the same order, so
// the bits are those of storing the sums and then running bias_act_row over the row. cols says how many bias
// values may be read.
typedef struct {
  const float* bias;  // the bias of the tile's first column, or 0
  int act;            // ACT_ enum
} epilogue;

static inline __attribute__((always_inline)) void finish_row(v128_t* v0, v128_t* v1, epilogue e, int cols) {
  if (e.bias) {
    *v0 = wasm_f32x4_add(*v0, load_part(e.bias, imin(cols, 4)));
    if (cols > 4) *v1 = wasm_f32x4_add(*v1, load_part(e.bias + 4, imin(cols - 4, 4)));
  }
  if (e.act != ACT_LINEAR) {
    *v0 = act4(*v0, e.act);
    *v1 = act4(*v1, e.act);
  }
}

static inline __attribute__((always_inline)) void store_tile_row(float* c, v128_t v0, v128_t v1, epilogue e,
                                                                 int cols) {
  if (e.bias || e.act != ACT_LINEAR) finish_row(&v0, &v1, e, cols);
  store_row(c, v0, v1, cols);
}

// One row by eight columns: a tile row whose strip has a single output row (a 1x1 output, a block's last pixel),
// where igemm_4x8 would compute three rows of zeros.
static void igemm_1x8(int taps, int kc, float** ind, int aoff, const float* b, float* c0, epilogue e, int cols) {
  v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0;
  for (int t = 0; t < taps; t++) {
    const float* p0 = ind[t * MR] + aoff;
    for (int k = 0; k < kc; k++) {
      v128_t v = wasm_v128_load32_splat(p0 + k);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, wasm_v128_load(b)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(v, wasm_v128_load(b + 4)));
      b += NR;
    }
  }
  store_tile_row(c0, a0, a1, e, cols);
}

static void igemm_4x8(int taps, int kc, float** ind, int aoff, const float* b, float* c0, float* c1, float* c2,
                      float* c3, int nrows, epilogue e, int cols) {
  v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (int t = 0; t < taps; t++) {
    const float* p0 = ind[t * MR + 0] + aoff;
    const float* p1 = ind[t * MR + 1] + aoff;
    const float* p2 = ind[t * MR + 2] + aoff;
    const float* p3 = ind[t * MR + 3] + aoff;
    for (int k = 0; k < kc; k++) {
      v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
      b += NR;
      v128_t v;
      v = wasm_v128_load32_splat(p0 + k);
      a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v, b0));
      a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v, b1));
      v = wasm_v128_load32_splat(p1 + k);
      a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v, b0));
      a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v, b1));
      v = wasm_v128_load32_splat(p2 + k);
      a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v, b0));
      a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v, b1));
      v = wasm_v128_load32_splat(p3 + k);
      a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v, b0));
      a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v, b1));
    }
  }
  store_tile_row(c0, a00, a01, e, cols);
  if (nrows > 1) store_tile_row(c1, a10, a11, e, cols);
  if (nrows > 2) store_tile_row(c2, a20, a21, e, cols);
  if (nrows > 3) store_tile_row(c3, a30, a31, e, cols);
}

// Eight rows by four columns, for narrow groups (ResNeXt's 4 channels per group). Packed panels
// keep the NR = 8 layout; only their first four columns are read.
static void igemm_8x4(int taps, int kc, float** ind, int aoff, const float* b, float** c, int coff, int nrows,
                      epilogue e, int cols) {
  v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int t = 0; t < taps; t++) {
    float** q = ind + t * 2 * MR;
    const float *p0 = q[0] + aoff, *p1 = q[1] + aoff, *p2 = q[2] + aoff, *p3 = q[3] + aoff;
    const float *p4 = q[4] + aoff, *p5 = q[5] + aoff, *p6 = q[6] + aoff, *p7 = q[7] + aoff;
    for (int k = 0; k < kc; k++) {
      v128_t b0 = wasm_v128_load(b);
      b += NR;
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(p0 + k), b0));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load32_splat(p1 + k), b0));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load32_splat(p2 + k), b0));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load32_splat(p3 + k), b0));
      a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(wasm_v128_load32_splat(p4 + k), b0));
      a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(wasm_v128_load32_splat(p5 + k), b0));
      a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(wasm_v128_load32_splat(p6 + k), b0));
      a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(wasm_v128_load32_splat(p7 + k), b0));
    }
  }
  v128_t z = wasm_f32x4_splat(0.f);
  store_tile_row(c[0] + coff, a0, z, e, cols);
  if (nrows > 1) store_tile_row(c[1] + coff, a1, z, e, cols);
  if (nrows > 2) store_tile_row(c[2] + coff, a2, z, e, cols);
  if (nrows > 3) store_tile_row(c[3] + coff, a3, z, e, cols);
  if (nrows > 4) store_tile_row(c[4] + coff, a4, z, e, cols);
  if (nrows > 5) store_tile_row(c[5] + coff, a5, z, e, cols);
  if (nrows > 6) store_tile_row(c[6] + coff, a6, z, e, cols);
  if (nrows > 7) store_tile_row(c[7] + coff, a7, z, e, cols);
}

// Runs the igemm over a block of rows whose pointer table has been built: rows [0, rows), taps,
// per-tap depth kc, for every group and column panel. ind is [strip][tap][MR]; crow[r] is the
// output row pointer of row r. B for group g is at bpack + g * bgroup, panels of [taps * kc][NR].
// bias (the forward's, indexed like the output row, or 0) and act are applied to each tile row
// before it is stored. Column panels are `panel` floats apart: igemm_block's taps * kc * NR, every tap of the pack;
// the row-tap input gradient runs a contiguous subset of its filter rows.
static void igemm_block_panels(int rows, int taps, int kc, float** ind, float** crow, int groups, int astep,
                               const float* bpack, int bgroup, int ncols, int cstep, const float* bias, int act,
                               int panel) {
  if (ncols <= 4) {
    // 8-row strips: the pointer table is [strip of 8][tap][8], two MR-strips interleaved per tap.
    for (int r0 = 0; r0 < rows; r0 += 2 * MR) {
      float** q = ind + r0 * taps;
      int nr = imin(2 * MR, rows - r0);
      for (int g = 0; g < groups; g++) {
        epilogue e = {bias ? bias + g * cstep : 0, act};
        igemm_8x4(taps, kc, q, g * astep, bpack + g * bgroup, crow + r0, g * cstep, nr, e, ncols);
      }
    }
    return;
  }
  for (int r0 = 0; r0 < rows; r0 += MR) {
    float** q = ind + r0 * taps;
    int nr = imin(MR, rows - r0);
    float** cr = crow + r0;
    for (int g = 0; g < groups; g++) {
      const float* bg = bpack + g * bgroup;
      for (int j0 = 0; j0 < ncols; j0 += NR) {
        int off = g * cstep + j0, cols = imin(NR, ncols - j0);
        epilogue e = {bias ? bias + off : 0, act};
        if (nr == 1)
          igemm_1x8(taps, kc, q, g * astep, bg + (j0 / NR) * panel, cr[0] + off, e, cols);
        else
          igemm_4x8(taps, kc, q, g * astep, bg + (j0 / NR) * panel, cr[0] + off, cr[1] + off,
                    cr[imin(2, nr - 1)] + off, cr[imin(3, nr - 1)] + off, nr, e, cols);
      }
    }
  }
}

static void igemm_block(int rows, int taps, int kc, float** ind, float** crow, int groups, int astep,
                        const float* bpack, int bgroup, int ncols, int cstep, const float* bias, int act) {
  igemm_block_panels(rows, taps, kc, ind, crow, groups, astep, bpack, bgroup, ncols, cstep, bias, act, taps * kc * NR);
}

static int strip_rows(int ncols) { return ncols <= 4 ? 2 * MR : MR; }

// ---------------------------------------------------------------------------------------------
// Work split. Every kernel runs in two steps: prepare(op, p), on one thread, does the set-up that
// the whole kernel shares (packing the filter, zeroing an output that is accumulated into) and
// returns the number of work units; run(op, p, unit, slot) then does one unit and may run on any
// thread, units in any order and at the same time, each thread with its own slot of scratch
// memory (slot < p->slots). The units of a kernel write disjoint parts of its output and every output
// element is computed by the same operations in the same order whatever the split, so results do
// not depend on the number of threads.
//
// Scratch memory (scratch_bytes(op, p) bytes, for p->slots slots): the shared part, then one part
// per slot.

static int align16(int bytes) { return (bytes + 15) & ~15; }

static void* slot_scratch(const conv* p, int shared_bytes, int slot_bytes, int slot) {
  return (char*)p->scratch + align16(shared_bytes) + slot * align16(slot_bytes);
}

// Rows of output pixels per unit of the igemm kernels: RB on one thread; on several, small enough
// for about four units per thread (the result of a row does not depend on its block).
static int block_rows(int mtotal, int slots) {
  if (slots <= 1) return RB;
  int target = (cdiv(mtotal, 4 * slots) + 7) & ~7;
  return imin(RB, imax(32, target));
}

// Units that split `items` independent items into contiguous ranges, `per_slot` units per thread.
static int split_units(int items, int slots, int per_slot) {
  if (items <= 0) return 0;
  return slots <= 1 ? 1 : imin(items, per_slot * slots);
}

static void unit_range(int items, int units, int unit, int* lo, int* hi) {
  *lo = (int)((long long)items * unit / units);
  *hi = (int)((long long)items * (unit + 1) / units);
}

// ---------------------------------------------------------------------------------------------
// Forward convolution. Shared scratch: the packed filter and a zero row; per slot: the pointer tables
// of one block of rows. Units: blocks of output pixels.
//
// Row taps: with one group and no dilation along the row, the kw taps of one filter row read kw * c
// consecutive input floats (NHWC), and the packed filter's [tap][ci][NR] is [filter row][kw * c][NR].
// So a pixel whose window lies inside the input along the row is one igemm row of kh taps of depth
// kw * c (a filter row above or below the input reads the zero row), and the other pixels keep one
// tap per filter tap. Both sum in the same order (filter row, column, input channel), so the bits do
// not depend on which form a pixel takes. With few input channels the row form matters: LeNet-5's
// first layer (c = 1, 5x5) reads 5 pointers per pixel instead of 25.

static int fwd_row_taps(const conv* p) { return p->groups == 1 && p->dw == 1 && p->kw > 1; }

static int fwd_zero_floats(const conv* p) { return imax(p->kw * p->c, p->co) + 4; }

static int fwd_shared(const conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int bfloats = groups * cdiv(cog, NR) * NR * taps * cig;
  return (bfloats + fwd_zero_floats(p)) * 4;
}

// Per slot: the per-tap table (RB rows of kh * kw pointers), the row-tap table (RB rows of kh), and each one's
// output rows (RB each).
static int fwd_slot(const conv* p) { return (RB * p->kh * p->kw + RB * p->kh + 2 * RB) * 4; }

static int conv_fwd_prepare(conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int npanels = cdiv(cog, NR), bgroup = npanels * NR * taps * cig;
  float* bpack = p->scratch;
  fill_zero(bpack + groups * bgroup, fwd_zero_floats(p));
  // Pack the filter: group g, panel j, [tap][ci][NR].
  for (int g = 0; g < groups; g++)
    for (int j = 0; j < npanels; j++) {
      float* dst = bpack + g * bgroup + j * NR * taps * cig;
      for (int k = 0; k < taps * cig; k++)
        for (int jj = 0; jj < NR; jj++) {
          int col = j * NR + jj;
          *dst++ = col < cog ? p->f[k * p->co + g * cog + col] : 0.f;
        }
    }
  int mtotal = p->n * p->oh * p->ow;
  return cdiv(mtotal, block_rows(mtotal, p->slots));
}

// Fills the padding lanes of a table's last strip (rows [rows, a multiple of sr)) with the zero row, and their
// output rows with row 0 (computed, never stored).
static void pad_strip(float** ind, float** crow, int rows, int taps, int sr, float* zero) {
  for (int r = rows; r < cdiv(rows, sr) * sr; r++) {
    float** q = ind + (r / sr) * sr * taps + r % sr;
    for (int t = 0; t < taps; t++) q[t * sr] = zero;
    crow[r] = crow[0];
  }
}

static KERNEL void conv_fwd_run(conv* p, int unit, int slot) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, kh = p->kh, kw = p->kw, taps = kh * kw;
  int npanels = cdiv(cog, NR), bgroup = npanels * NR * taps * cig;
  float* bpack = p->scratch;
  float* zero = bpack + groups * bgroup;
  float** ind = (float**)slot_scratch(p, fwd_shared(p), fwd_slot(p), slot);
  float** rind = ind + RB * taps;
  float** crow = rind + RB * kh;
  float** rrow = crow + RB;
  int mtotal = p->n * p->oh * p->ow, sr = strip_rows(cog), rb = block_rows(mtotal, p->slots);
  int m0 = unit * rb, rows = imin(rb, mtotal - m0), rowtaps = fwd_row_taps(p);
  long rstep = (long)p->dh * p->w * p->c, cstep = (long)p->dw * p->c;
  // The block's first pixel; the following ones by steps (no division per pixel).
  int ow = m0 % p->ow, oh = (m0 / p->ow) % p->oh, n = m0 / (p->ow * p->oh);
  int nt = 0, nr = 0;  // rows in the per-tap table, in the row-tap table
  for (int r = 0; r < rows; r++) {
    float* yrow = p->y + (long)(m0 + r) * p->co;
    int ih0 = oh * p->sh - p->pt, iw0 = ow * p->sw - p->pl;
    int inw = iw0 >= 0 && iw0 + (kw - 1) * p->dw < p->w;
    int inh = ih0 >= 0 && ih0 + (kh - 1) * p->dh < p->h;
    const float* rowp = p->x + ((long)(n * p->h + ih0) * p->w + iw0) * p->c;
    if (rowtaps && inw) {
      float** qt = rind + (nr / sr) * sr * kh + nr % sr;
      for (int i = 0, ih = ih0; i < kh; i++, ih += p->dh, rowp += rstep, qt += sr)
        *qt = inh || (ih >= 0 && ih < p->h) ? (float*)rowp : zero;
      rrow[nr++] = yrow;
    } else if (inh && inw) {
      // A window inside the input: its taps' pixels by steps, without a bounds check per tap.
      float** qt = ind + (nt / sr) * sr * taps + nt % sr;
      for (int i = 0; i < kh; i++, rowp += rstep) {
        const float* cp = rowp;
        for (int j = 0; j < kw; j++, cp += cstep, qt += sr) *qt = (float*)cp;
      }
      crow[nt++] = yrow;
    } else {
      float** q = ind + (nt / sr) * sr * taps + nt % sr;
      for (int i = 0; i < kh; i++) {
        int ih = ih0 + i * p->dh;
        for (int j = 0; j < kw; j++) {
          int iw = iw0 + j * p->dw;
          int ok = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w;
          q[(i * kw + j) * sr] = ok ? p->x + ((long)(n * p->h + ih) * p->w + iw) * p->c : zero;
        }
      }
      crow[nt++] = yrow;
    }
    if (++ow == p->ow) {
      ow = 0;
      if (++oh == p->oh) oh = 0, n++;
    }
  }
  // The fused bias and activation (FusedConv2D) are applied to each tile row in registers, before it is stored.
  if (nr) {
    pad_strip(rind, rrow, nr, kh, sr, zero);
    igemm_block(nr, kh, kw * p->c, rind, rrow, 1, 0, bpack, bgroup, cog, cog, p->bias, p->act);
  }
  if (nt) {
    pad_strip(ind, crow, nt, taps, sr, zero);
    igemm_block(nt, taps, cig, ind, crow, groups, cig, bpack, bgroup, cog, cog, p->bias, p->act);
  }
}

// ---------------------------------------------------------------------------------------------
// Input gradient: dx[pixel, ci] = sum over taps and co of dy[out pixel of the tap, co] * f[tap, ci, co].
// Pixels are taken one stride phase (ih mod sh, iw mod sw) at a time, so that only the taps that
// reach a whole output pixel are visited: nothing is multiplied by the zeros of a strided dy.
// Shared scratch: a table of the phases, the transposed filter packed for each phase's taps, a zero
// row; per slot: the pointer table of one block. Units: blocks of pixels of one phase. (At stride 1, the row taps
// below: shared scratch [the filter packed by rows | the row-padded copy of dy | a zero row]; units: blocks of pixels.)

enum { PH_NI, PH_NJ, PH_BOFF, PH_HH, PH_WW, PH_USTART, PH_UNITS, PH_TAPS };  // then kh rows, kw columns

// Row taps (stride 1, no dilation, one group, kw > 1): the kw taps of filter row i reach the output pixels
// (h + pt - i, w + pl - j), j = 0 .. kw - 1: kw consecutive pixels of one row of dy, read backwards. prepare copies dy
// once with kw - 1 zero pixels on each side of every row, so that for every input pixel and filter row they are
// kw * co consecutive floats starting at padded column w + pl, and packs the filter as [filter row][kw * co][NR of
// ci] with its taps in reverse (j = kw - 1 first). An input pixel is then one igemm row of only the filter rows that
// reach dy (rows above or below it are skipped, not multiplied by zeros): LeNet-5's second layer, 5x5 valid from
// 14x14x6 to 10x10x16, takes 3.6 filter rows of depth 80 per pixel on average where it took 25 taps of depth 16,
// about half of them zeros. Each sum runs filter row by filter row, j from kw - 1 down, co up, whatever the split.
// Used while the padded copy has at most BWD_ROWS_MAX_FLOATS floats (16 MB; the whole batch's, so a larger batch of
// the same layer may take the phase path below, whose sums run in another order) and no padding is negative (the
// copy's zero pixels stand for the padding: a negative one would read the next row).
enum { BWD_ROWS_MAX_FLOATS = 1 << 22 };

static long bwd_rows_padded(const conv* p) { return (long)p->n * p->oh * (p->ow + 2 * (p->kw - 1)) * p->co; }

static int bwd_rows(const conv* p) {
  // Stride 1: the bottom padding is oh - h - pt + kh - 1, the right one ow - w - pl + kw - 1.
  return p->groups == 1 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && p->kw > 1 && p->pt >= 0 &&
         p->pl >= 0 && p->oh + p->kh - 1 >= p->h + p->pt && p->ow + p->kw - 1 >= p->w + p->pl &&
         bwd_rows_padded(p) <= BWD_ROWS_MAX_FLOATS;
}

// The packed filter's floats: cdiv(c, NR) panels of kh filter rows of kw * co depth.
static int bwd_rows_pack(const conv* p) { return cdiv(p->c, NR) * NR * p->kh * p->kw * p->co; }

static int conv_bwd_rows_prepare(conv* p) {
  int c = p->c, co = p->co, kh = p->kh, kw = p->kw, kc = kw * co, npanels = cdiv(c, NR);
  float* bpack = p->scratch;
  for (int pj = 0; pj < npanels; pj++)
    for (int i = 0; i < kh; i++)
      for (int jr = 0; jr < kw; jr++)
        for (int o = 0; o < co; o++) {
          float* dst = bpack + ((long)(pj * kh + i) * kc + jr * co + o) * NR;
          int t = i * kw + (kw - 1 - jr);
          for (int jj = 0; jj < NR; jj++) {
            int ci = pj * NR + jj;
            dst[jj] = ci < c ? p->f[((long)t * c + ci) * co + o] : 0.f;
          }
        }
  float* dyp = bpack + bwd_rows_pack(p);
  int edge = (kw - 1) * co, row = p->ow * co;
  for (long r = 0; r < (long)p->n * p->oh; r++) {
    float* d = dyp + r * (row + 2 * edge);
    const float* src = p->y + r * row;
    fill_zero(d, edge);
    int i = 0;
    for (; i + 4 <= row; i += 4) wasm_v128_store(d + edge + i, wasm_v128_load(src + i));
    for (; i < row; i++) d[edge + i] = src[i];
    fill_zero(d + edge + row, edge);
  }
  fill_zero(dyp + bwd_rows_padded(p), kc + 4);  // the zero row of a strip's padding lanes
  int mtotal = p->n * p->h * p->w;
  return cdiv(mtotal, block_rows(mtotal, p->slots));
}

static KERNEL void conv_bwd_rows_run(conv* p, int unit, int slot, int shared_bytes, int slot_bytes) {
  int c = p->c, co = p->co, kh = p->kh, kw = p->kw, kc = kw * co, panel = kh * kc * NR;
  const float* bpack = p->scratch;
  float* dyp = p->scratch + bwd_rows_pack(p);
  float* zero = dyp + bwd_rows_padded(p);
  long prow = (long)(p->ow + 2 * (kw - 1)) * co;
  float** ind = (float**)slot_scratch(p, shared_bytes, slot_bytes, slot);
  float** crow = ind + RB * kh;
  int mtotal = p->n * p->h * p->w, rb = block_rows(mtotal, p->slots), m0 = unit * rb;
  int rows = imin(rb, mtotal - m0), sr = strip_rows(c);
  int w = m0 % p->w, h = (m0 / p->w) % p->h, n = m0 / (p->w * p->h);
  // Pixels of one input row share their filter rows [lo, hi]: runs of such pixels go to igemm together.
  int nt = 0, lo = 0, hi = -1;
  for (int r = 0; r <= rows; r++) {
    int i0 = 0, i1 = -1;
    if (r < rows) i0 = imax(0, h + p->pt - (p->oh - 1)), i1 = imin(kh - 1, h + p->pt);
    if (nt && (r == rows || i0 != lo || i1 != hi)) {
      pad_strip(ind, crow, nt, hi - lo + 1, sr, zero);
      igemm_block_panels(nt, hi - lo + 1, kc, ind, crow, 1, 0, bpack + (long)lo * kc * NR, 0, c, c, 0, ACT_LINEAR,
                         panel);
      nt = 0;
    }
    if (r == rows) break;
    // Never empty: with stride 1 the output has p->oh = p->h + pt + pb - kh + 1 rows (pb >= 0, bwd_rows), so for
    // input row h < p->h, h + pt - (p->oh - 1) <= kh - 1 - pb and i0 <= i1.
    lo = i0, hi = i1;
    float** q = ind + (nt / sr) * sr * (i1 - i0 + 1) + nt % sr;
    const float* base = dyp + ((long)n * p->oh + h + p->pt) * prow + (long)(w + p->pl) * co;
    for (int i = i0; i <= i1; i++, q += sr) *q = (float*)(base - (long)i * prow);
    crow[nt++] = p->x + ((long)(n * p->h + h) * p->w + w) * c;
    if (++w == p->w) {
      w = 0;
      if (++h == p->h) h = 0, n++;
    }
  }
}

static int phase_count(const conv* p) { return imin(p->sh, p->h) * imin(p->sw, p->w); }
static int phase_words(const conv* p) { return PH_TAPS + p->kh + p->kw; }

static int bwd_input_shared(const conv* p) {
  if (bwd_rows(p)) return (int)((bwd_rows_pack(p) + bwd_rows_padded(p) + p->kw * p->co + 4) * 4);
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  // Each tap belongs to at most one phase, so the packs of all phases fit in one full pack.
  int bfloats = groups * cdiv(cig, NR) * NR * taps * cog;
  return (phase_count(p) * phase_words(p) + bfloats + imax(p->c, p->co) + 4) * 4;
}

// Per slot: the pointer table, the output rows, then the phase's output-pixel offsets of its kernel rows and columns.
static int bwd_input_slot(const conv* p) { return (RB * p->kh * p->kw + RB + p->kh + p->kw) * 4; }

static int conv_bwd_input_prepare(conv* p) {
  if (bwd_rows(p)) return conv_bwd_rows_prepare(p);
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps_all = p->kh * p->kw;
  int npanels = cdiv(cig, NR), nph = phase_count(p), pw_words = phase_words(p);
  int* table = (int*)p->scratch;
  float* bpack = (float*)(table + nph * pw_words);
  float* zero = bpack + groups * npanels * NR * taps_all * cog;
  fill_zero(zero, imax(p->c, p->co) + 4);
  int rb = block_rows(p->n * p->h * p->w, p->slots);
  int boff = 0, units = 0, k = 0;
  for (int ph = 0; ph < p->sh && ph < p->h; ph++)
    for (int pw = 0; pw < p->sw && pw < p->w; pw++, k++) {
      int* e = table + k * pw_words;
      int* tapi = e + PH_TAPS;  // kernel rows of this phase
      int* tapj = tapi + p->kh;  // kernel columns of this phase
      // Taps that reach a whole output row / column from this phase.
      int ni = 0, nj = 0;
      for (int i = 0; i < p->kh; i++) {
        int d = ph + p->pt - i * p->dh;
        if (((d % p->sh) + p->sh) % p->sh == 0) tapi[ni++] = i;
      }
      for (int j = 0; j < p->kw; j++) {
        int d = pw + p->pl - j * p->dw;
        if (((d % p->sw) + p->sw) % p->sw == 0) tapj[nj++] = j;
      }
      int taps = ni * nj, bgroup = npanels * NR * taps * cog;
      // Pack the transposed filter for these taps: group g, panel, [tap][co][NR of ci].
      for (int g = 0; g < groups; g++)
        for (int pj = 0; pj < npanels; pj++) {
          float* dst = bpack + boff + g * bgroup + pj * NR * taps * cog;
          for (int a = 0; a < ni; a++)
            for (int b = 0; b < nj; b++) {
              int t = tapi[a] * p->kw + tapj[b];
              for (int o = 0; o < cog; o++)
                for (int jj = 0; jj < NR; jj++) {
                  int ci = pj * NR + jj;
                  *dst++ = ci < cig ? p->f[(t * cig + ci) * p->co + g * cog + o] : 0.f;
                }
            }
        }
      int hh = cdiv(p->h - ph, p->sh), ww = cdiv(p->w - pw, p->sw);
      e[PH_NI] = ni;
      e[PH_NJ] = nj;
      e[PH_BOFF] = boff;
      e[PH_HH] = hh;
      e[PH_WW] = ww;
      e[PH_UNITS] = cdiv(p->n * hh * ww, rb);
      boff += groups * bgroup;
    }
  // Units are numbered phase by phase, the phases with the most taps (the costliest units) first,
  // so that the cheap units come last and even out the threads' finishing times.
  for (int most = taps_all; most >= 0; most--)
    for (int q = 0; q < nph; q++) {
      int* e = table + q * pw_words;
      if (e[PH_NI] * e[PH_NJ] != most) continue;
      e[PH_USTART] = units;
      units += e[PH_UNITS];
    }
  return units;
}

static KERNEL void conv_bwd_input_run(conv* p, int unit, int slot) {
  if (bwd_rows(p)) return conv_bwd_rows_run(p, unit, slot, bwd_input_shared(p), bwd_input_slot(p));
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps_all = p->kh * p->kw;
  int npanels = cdiv(cig, NR), nph = phase_count(p), pw_words = phase_words(p);
  int* table = (int*)p->scratch;
  float* bpack = (float*)(table + nph * pw_words);
  float* zero = bpack + groups * npanels * NR * taps_all * cog;
  float** ind = (float**)slot_scratch(p, bwd_input_shared(p), bwd_input_slot(p), slot);
  float** crow = ind + RB * taps_all;
  int k = 0;
  while (k < nph - 1 && !(unit >= table[k * pw_words + PH_USTART] && unit < table[k * pw_words + PH_USTART] + table[k * pw_words + PH_UNITS])) k++;
  const int* e = table + k * pw_words;
  const int* tapi = e + PH_TAPS;
  const int* tapj = tapi + p->kh;
  int ph = k / imin(p->sw, p->w), pw = k % imin(p->sw, p->w);
  int ni = e[PH_NI], nj = e[PH_NJ], hh = e[PH_HH], ww = e[PH_WW], taps = ni * nj;
  int bgroup = npanels * NR * taps * cog, sr = strip_rows(cig);
  int rb = block_rows(p->n * p->h * p->w, p->slots);
  int mtotal = p->n * hh * ww, m0 = (unit - e[PH_USTART]) * rb;
  int rows = imin(rb, mtotal - m0);
  int padded = cdiv(rows, sr) * sr;
  // The output pixel a tap reaches from phase pixel (h', w') (ih = ph + h' * sh) is (h' + offi[a], w' + offj[b]):
  // the phase keeps only taps whose distance is a whole number of strides, so this division is exact.
  int* offi = (int*)(crow + RB);
  int* offj = offi + p->kh;
  for (int a = 0; a < ni; a++) offi[a] = (ph + p->pt - tapi[a] * p->dh) / p->sh;
  for (int b = 0; b < nj; b++) offj[b] = (pw + p->pl - tapj[b] * p->dw) / p->sw;
  // The block's first pixel; the following ones by steps (no division per pixel).
  int wq = m0 % ww, hq = (m0 / ww) % hh, n = m0 / (ww * hh);
  for (int r = 0; r < padded; r++) {
    int strip = r / sr, lane = r % sr;
    float** q = ind + strip * sr * taps;
    if (r >= rows) {
      for (int t = 0; t < taps; t++) q[t * sr + lane] = zero;
      crow[r] = crow[0];
      continue;
    }
    crow[r] = p->x + ((long)(n * p->h + ph + hq * p->sh) * p->w + pw + wq * p->sw) * p->c;
    const float* ybase = p->y + (long)n * p->oh * p->ow * p->co;
    for (int a = 0; a < ni; a++) {
      int oh = hq + offi[a];
      int okh = oh >= 0 && oh < p->oh;
      for (int b = 0; b < nj; b++) {
        int ow = wq + offj[b];
        int ok = okh && ow >= 0 && ow < p->ow;
        q[(a * nj + b) * sr + lane] = ok ? (float*)ybase + ((long)oh * p->ow + ow) * p->co : zero;
      }
    }
    if (++wq == ww) {
      wq = 0;
      if (++hq == hh) hq = 0, n++;
    }
  }
  igemm_block(rows, taps, cog, ind, crow, groups, cog, bpack + e[PH_BOFF], bgroup, cig, cig, 0, ACT_LINEAR);
}

// ---------------------------------------------------------------------------------------------
// Filter gradient: df[tap, ci, co] = sum over output pixels m of x[input pixel of m and tap, ci] * dy[m, co].
// rgemm_4x8 accumulates a tile of 4 input channels (one tap) by 8 output channels over a block of
// output pixels; ind[m * taps] points at the input row of pixel m for this tap. The three rgemm tiles are
// compiled noinline: inlined into run's dispatch (before every kernel became its own function, KERNEL above) they ran
// about 35 % slower (resnet20_cifar's 3x3 filter gradients at batch 64, one thread: 15-18 ms -> 10-11 ms). Inlined
// into conv_bwd_filter_run alone they measure the same (bench/kernel-ops.mjs, within 5 %).

static __attribute__((noinline)) void rgemm_4x8(int rows, float** ind, int taps, int xoff, const float* dy, int ldy,
                                                float* df, int ldf, int nrows) {
  v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  int o1 = imin(1, nrows - 1), o2 = imin(2, nrows - 1), o3 = imin(3, nrows - 1);
  for (int m = 0; m < rows; m++) {
    const float* xp = ind[m * taps] + xoff;
    v128_t b0 = wasm_v128_load(dy), b1 = wasm_v128_load(dy + 4);
    dy += ldy;
    v128_t v;
    v = wasm_v128_load32_splat(xp);
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v, b0));
    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o1);
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v, b0));
    a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o2);
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v, b0));
    a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o3);
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v, b0));
    a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v, b1));
  }
  float* d = df;
  wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), a00));
  wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), a01));
  if (nrows > 1) {
    d = df + ldf;
    wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), a10));
    wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), a11));
  }
  if (nrows > 2) {
    d = df + 2 * ldf;
    wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), a20));
    wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), a21));
  }
  if (nrows > 3) {
    d = df + 3 * ldf;
    wasm_v128_store(d, wasm_f32x4_add(wasm_v128_load(d), a30));
    wasm_v128_store(d + 4, wasm_f32x4_add(wasm_v128_load(d + 4), a31));
  }
}

// Eight rows by four output channels: rows 0-3 are up to four input channels of one tap (table
// indA, channel offset xoffA), rows 4-7 up to four of another (indB, xoffB): the two halves may be
// two taps, so that narrow groups (4 channels) still fill all eight accumulators.
static __attribute__((noinline)) void rgemm_8x4(int rows, float** indA, float** indB, int taps, int xoffA, int xoffB,
                                                const float* dy, int ldy, float* dfA, float* dfB, int ldf, int nA,
                                                int nB) {
  v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  int o1 = imin(1, nA - 1), o2 = imin(2, nA - 1), o3 = imin(3, nA - 1);
  int nb = imax(nB, 1);
  int p1 = imin(1, nb - 1), p2 = imin(2, nb - 1), p3 = imin(3, nb - 1);
  for (int m = 0; m < rows; m++) {
    const float* xa = indA[m * taps] + xoffA;
    const float* xb = indB[m * taps] + xoffB;
    v128_t b0 = wasm_v128_load(dy);
    dy += ldy;
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xa), b0));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load32_splat(xa + o1), b0));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load32_splat(xa + o2), b0));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load32_splat(xa + o3), b0));
    a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(wasm_v128_load32_splat(xb), b0));
    a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(wasm_v128_load32_splat(xb + p1), b0));
    a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(wasm_v128_load32_splat(xb + p2), b0));
    a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(wasm_v128_load32_splat(xb + p3), b0));
  }
#define ACC(d, n, r, v) \
  if (n > r) wasm_v128_store(d + r * ldf, wasm_f32x4_add(wasm_v128_load(d + r * ldf), v))
  ACC(dfA, nA, 0, a0);
  ACC(dfA, nA, 1, a1);
  ACC(dfA, nA, 2, a2);
  ACC(dfA, nA, 3, a3);
  ACC(dfB, nB, 0, a4);
  ACC(dfB, nB, 1, a5);
  ACC(dfB, nB, 2, a6);
  ACC(dfB, nB, 3, a7);
#undef ACC
}

// Up to 4 rows by up to 8 columns (ncols <= 8) with partial loads and stores: for output-channel counts that are not
// a multiple of 4 (LeNet-5's 6). It replaces a scalar loop over (row, column) that re-read the pointer table for
// each and took 15 ms for LeNet-5's first layer at batch 64.
static __attribute__((noinline)) void rgemm_4xn(int rows, float** ind, int taps, int xoff, const float* dy, int ldy,
                                                float* df, int ldf, int nrows, int ncols) {
  v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  int o1 = imin(1, nrows - 1), o2 = imin(2, nrows - 1), o3 = imin(3, nrows - 1);
  int n0 = imin(4, ncols), n1 = ncols - n0;
  for (int m = 0; m < rows; m++) {
    const float* xp = ind[m * taps] + xoff;
    v128_t b0 = load_part(dy, n0), b1 = n1 > 0 ? load_part(dy + 4, n1) : wasm_f32x4_splat(0.f);
    dy += ldy;
    v128_t v = wasm_v128_load32_splat(xp);
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v, b0));
    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o1);
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v, b0));
    a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o2);
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v, b0));
    a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(xp + o3);
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v, b0));
    a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v, b1));
  }
#define ACC(r, lo, hi)                                                                \
  if (nrows > r) {                                                                     \
    float* d = df + r * ldf;                                                           \
    store_part(d, wasm_f32x4_add(load_part(d, n0), lo), n0);                           \
    if (n1 > 0) store_part(d + 4, wasm_f32x4_add(load_part(d + 4, n1), hi), n1);       \
  }
  ACC(0, a00, a01);
  ACC(1, a10, a11);
  ACC(2, a20, a21);
  ACC(3, a30, a31);
#undef ACC
}

// Shared scratch: a zero row, then the partial gradients of parts 1 .. parts-1; per slot: the pointer table of one
// block. The output pixels are cut into filter_parts(p) parts (a number the shape sets, not the thread count), each
// summed into its own copy of the gradient (part 0 into f itself), and finish() adds the copies in order. Units:
// a part by a range of the filter-gradient tiles (each a strip of up to four input channels of one tap, or a pair
// of strips, by a group's output channels), each unit running over every pixel of its part, so every tile sums its
// pixels in the same order whatever the split. Tiles are ordered tap by tap, so that a unit builds the table only
// for its own taps: the table is built once per part, not once per unit.
//
// Parts matter where dy is large (wide, shallow layers such as MobileNet's 1x1 convolutions at high resolution):
// units that split only the tiles would each stream all of dy from memory, as many times as there are units.
// A part streams only its own pixels, at the cost of zeroing and adding one filter-sized copy each.

static int filter_floats(const conv* p) { return p->kh * p->kw * (p->c / p->groups) * p->co; }

static int filter_parts(const conv* p) {
  long long m = (long long)p->n * p->oh * p->ow, df = filter_floats(p), dy = m * p->co;
  if (dy * 4 < (1 << 20) || m < 4 * RB) return 1;  // dy stays in cache: the tiles split it well enough
  if (df * 64 <= dy && m >= 8 * RB) return 4;
  return df * 16 <= dy ? 2 : 1;
}

// Bytes of the shared zero row, before the copies.
static int filter_zero_bytes(const conv* p) { return align16((imax(p->c, p->co) + 4) * 4); }

static int bwd_filter_shared(const conv* p) {
  return filter_zero_bytes(p) + (filter_parts(p) - 1) * filter_floats(p) * 4;
}
static int bwd_filter_slot(const conv* p) { return RB * p->kh * p->kw * 4; }

// Units per part (each streams its part's dy once): one on one thread; without parts, a few tile ranges a thread;
// with parts, enough tile ranges that every thread has a unit.
static int filter_ranges(const conv* p, int items) {
  int parts = filter_parts(p);
  if (p->slots <= 1) return 1;
  if (parts == 1) return split_units(items, p->slots, 2);
  return imax(1, imin(items, cdiv(p->slots, parts)));
}

static float* filter_copy(const conv* p, int part) {
  return part == 0 ? p->f : (float*)((char*)p->scratch + filter_zero_bytes(p)) + (long)(part - 1) * filter_floats(p);
}

// 4: pairs of strips fill the 8x4 kernel; 8: 4x8 kernels (and 8x4 for the last four columns); 0: rgemm_4xn.
static int filter_wide(int cog) { return cog % 4 == 0 && cog >= 8 ? 8 : (cog % 4 == 0 ? 4 : 0); }

static int filter_items(const conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int nstrips = taps * cdiv(cig, MR);
  return groups * (filter_wide(cog) == 4 ? cdiv(nstrips, 2) : nstrips);
}

static int conv_bwd_filter_prepare(conv* p) {
  int parts = filter_parts(p);
  fill_zero(p->scratch, imax(p->c, p->co) + 4);
  for (int part = 0; part < parts; part++) fill_zero(filter_copy(p, part), filter_floats(p));
  return parts * filter_ranges(p, filter_items(p));
}

// After every unit: f += the copies of parts 1, 2, ... in that order.
static void conv_bwd_filter_finish(conv* p) {
  int parts = filter_parts(p), count = filter_floats(p);
  for (int part = 1; part < parts; part++) {
    const float* src = filter_copy(p, part);
    int i = 0;
    for (; i + 4 <= count; i += 4) wasm_v128_store(p->f + i, wasm_f32x4_add(wasm_v128_load(p->f + i), wasm_v128_load(src + i)));
    for (; i < count; i++) p->f[i] += src[i];
  }
}

static KERNEL void conv_bwd_filter_run(conv* p, int unit, int slot) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  float* zero = p->scratch;
  float** ind = (float**)slot_scratch(p, bwd_filter_shared(p), bwd_filter_slot(p), slot);
  int wide = filter_wide(cog);
  int spt = cdiv(cig, MR), nstrips = taps * spt;  // strips of up to 4 input channels of one tap
  int items = filter_items(p), ranges = filter_ranges(p, items), part = unit / ranges, lo, hi;
  unit_range(items, ranges, unit % ranges, &lo, &hi);
  if (lo >= hi) return;
  float* df = filter_copy(p, part);
  // Items are numbered strip (or pair of strips) first, then group, so a unit's items cover a
  // contiguous range of taps [t0, t1]: only those columns of the pointer table are built.
  int klo = lo / groups, khi = (hi - 1) / groups;
  int t0 = (wide == 4 ? 2 * klo : klo) / spt;
  int t1 = (wide == 4 ? imin(2 * khi + 1, nstrips - 1) : khi) / spt;
  int mtotal = p->n * p->oh * p->ow, blo, bhi;
  unit_range(cdiv(mtotal, RB), filter_parts(p), part, &blo, &bhi);
  int mlo = blo * RB, mhi = imin(mtotal, bhi * RB);
  // The pixel (n, oh, ow) of row m0 is stepped row by row, and the taps' offsets column by column: no division per
  // row or tap (they cost about as much as the multiply-adds of a 16-channel layer).
  int ow = mlo % p->ow, oh = mlo / p->ow % p->oh, n = mlo / (p->ow * p->oh);
  for (int m0 = mlo; m0 < mhi; m0 += RB) {
    int rows = imin(RB, mhi - m0);
    for (int r = 0; r < rows; r++) {
      int ih0 = oh * p->sh - p->pt, iw0 = ow * p->sw - p->pl;
      float* xn = p->x + (long)n * p->h * p->w * p->c;
      float** row = ind + r * taps;
      for (int t = t0, ky = t0 / p->kw, kx = t0 % p->kw; t <= t1; t++) {
        int ih = ih0 + ky * p->dh, iw = iw0 + kx * p->dw;
        int ok = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w;
        row[t] = ok ? xn + ((long)ih * p->w + iw) * p->c : zero;
        if (++kx == p->kw) {
          kx = 0;
          ky++;
        }
      }
      if (++ow == p->ow) {
        ow = 0;
        if (++oh == p->oh) {
          oh = 0;
          n++;
        }
      }
    }
    const float* dyb = p->y + (long)m0 * p->co;
    for (int item = lo; item < hi; item++) {
      int g = item % groups, k = item / groups;
      const float* dyg = dyb + g * cog;
      float* fg = df + g * cog;
      if (wide == 4) {
        // A pair of strips (of one tap or of two) fills the 8x4 kernel.
        int s = 2 * k;
        int ta = s / spt, ca = (s % spt) * MR, na = imin(MR, cig - ca);
        int tb = ta, cb = ca, nb = 0;
        if (s + 1 < nstrips) {
          tb = (s + 1) / spt;
          cb = ((s + 1) % spt) * MR;
          nb = imin(MR, cig - cb);
        }
        rgemm_8x4(rows, ind + ta, ind + tb, taps, g * cig + ca, g * cig + cb, dyg, p->co, fg + (ta * cig + ca) * p->co,
                  fg + (tb * cig + cb) * p->co, p->co, na, nb);
        continue;
      }
      int s = k, t = s / spt, c0 = (s % spt) * MR, nr = imin(MR, cig - c0);
      float** it = ind + t;
      float* dst = fg + (t * cig + c0) * p->co;
      if (wide == 8) {
        for (int j0 = 0; j0 + 8 <= cog; j0 += 8)
          rgemm_4x8(rows, it, taps, g * cig + c0, dyg + j0, p->co, dst + j0, p->co, nr);
        if (cog % 8) {  // the last four columns
          int j0 = cog - 4;
          rgemm_8x4(rows, it, it, taps, g * cig + c0, g * cig + c0, dyg + j0, p->co, dst + j0, dst + j0, p->co, nr, 0);
        }
      } else {
        for (int j0 = 0; j0 < cog; j0 += 8)
          rgemm_4xn(rows, it, taps, g * cig + c0, dyg + j0, p->co, dst + j0, p->co, nr, imin(8, cog - j0));
      }
    }
  }
}


// ---------------------------------------------------------------------------------------------
// Depthwise convolution (groups = channels), filter [kh, kw, c, mult]. With mult = 1 every kernel
// is vectorised along channels; other multipliers take scalar loops.

// The bias and activation of a depthwise forward output, on 4 channels in registers: the operations of bias_act_row,
// in its order, so the values are the same bits as a separate pass.
static inline v128_t dw_finish(v128_t v, const float* bias, int j, int act) {
  if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + j));
  return act4(v, act);
}

// out[c] = act(sum over the n listed taps of src[t][c] * wt[t][c] + bias[c]) (bias 0: none), 16 channels at a time,
// then 8, then 4: small channel counts (ShuffleNet's 24) finish in two passes over the taps instead of three, and the
// bias and activation are applied before the store instead of in a second pass over the row.
static void dw_gather(float* out, int n, const float** src, const float** wt, int c, const float* bias, int act) {
  int c0 = 0;
  for (; c0 + 16 <= c; c0 += 16) {
    v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < n; t++) {
      const float* s = src[t] + c0;
      const float* w = wt[t] + c0;
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(s), wasm_v128_load(w)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(s + 4), wasm_v128_load(w + 4)));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(s + 8), wasm_v128_load(w + 8)));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(s + 12), wasm_v128_load(w + 12)));
    }
    wasm_v128_store(out + c0, dw_finish(a0, bias, c0, act));
    wasm_v128_store(out + c0 + 4, dw_finish(a1, bias, c0 + 4, act));
    wasm_v128_store(out + c0 + 8, dw_finish(a2, bias, c0 + 8, act));
    wasm_v128_store(out + c0 + 12, dw_finish(a3, bias, c0 + 12, act));
  }
  for (; c0 + 8 <= c; c0 += 8) {
    v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0;
    for (int t = 0; t < n; t++) {
      const float* s = src[t] + c0;
      const float* w = wt[t] + c0;
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(s), wasm_v128_load(w)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(s + 4), wasm_v128_load(w + 4)));
    }
    wasm_v128_store(out + c0, dw_finish(a0, bias, c0, act));
    wasm_v128_store(out + c0 + 4, dw_finish(a1, bias, c0 + 4, act));
  }
  for (; c0 + 4 <= c; c0 += 4) {
    v128_t a0 = wasm_f32x4_splat(0.f);
    for (int t = 0; t < n; t++) a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(src[t] + c0), wasm_v128_load(wt[t] + c0)));
    wasm_v128_store(out + c0, dw_finish(a0, bias, c0, act));
  }
  int tail = c0;
  for (; c0 < c; c0++) {
    float a = 0.f;
    for (int t = 0; t < n; t++) a += src[t][c0] * wt[t][c0];
    out[c0] = a;
  }
  if (tail < c && (bias || act != ACT_LINEAR)) bias_act_row(out + tail, c - tail, bias ? bias + tail : 0, act);
}

// The most channels dw_gather_row4 takes. Measured (bench/kernel-ops.mjs, one thread): 1.6-2x faster than one pixel at
// a time with 6 to 32 channels (112x112x32: 0.74 -> 0.38 ms), 1.1x with 64 at batch 4; with 144 it went either way
// (56x56: 1.3x at batch 1, 0.6-0.75x at batch 4, where one pixel at a time reads fewer cache lines at once).
enum { DW_ROW4_MAX_CHANNELS = 64 };

// Four neighbouring output pixels of a 3-wide depthwise filter with stride and dilation 1 along the row, every one
// with its three taps of each listed row inside the input: out + k * c (k < 4) = act(sum over the nr rows a and the
// taps j of src[a][(k + j) * c] * wt[a][j * c] + bias). The four pixels share each loaded input (6 per row and 4
// channels, against 12 for one pixel at a time) and each loaded weight; each sum is the one dw_gather makes, in its
// order (rows, then taps), so the values are the same bits.
static void dw_gather_row4(float* out, int nr, const float** src, const float** wt, int c, const float* bias,
                           int act) {
  int c0 = 0;
  for (; c0 + 4 <= c; c0 += 4) {
    v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int a = 0; a < nr; a++) {
      const float* x = src[a] + c0;
      const float* w = wt[a] + c0;
      v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + c), w2 = wasm_v128_load(w + 2 * c);
      v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + c), x2 = wasm_v128_load(x + 2 * c);
      v128_t x3 = wasm_v128_load(x + 3 * c), x4 = wasm_v128_load(x + 4 * c), x5 = wasm_v128_load(x + 5 * c);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x0, w0));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x1, w0));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(x2, w0));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(x3, w0));
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x1, w1));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x2, w1));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(x3, w1));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(x4, w1));
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x2, w2));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x3, w2));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(x4, w2));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(x5, w2));
    }
    wasm_v128_store(out + c0, dw_finish(a0, bias, c0, act));
    wasm_v128_store(out + c + c0, dw_finish(a1, bias, c0, act));
    wasm_v128_store(out + 2 * c + c0, dw_finish(a2, bias, c0, act));
    wasm_v128_store(out + 3 * c + c0, dw_finish(a3, bias, c0, act));
  }
  for (int k = 0; c0 < c && k < 4; k++) {
    float* o = out + k * c;
    for (int ci = c0; ci < c; ci++) {
      float v = 0.f;
      for (int a = 0; a < nr; a++)
        for (int j = 0; j < 3; j++) v += src[a][(k + j) * c + ci] * wt[a][j * c + ci];
      o[ci] = v;
    }
    if (bias || act != ACT_LINEAR) bias_act_row(o + c0, c - c0, bias ? bias + c0 : 0, act);
  }
}

// The same with a channel multiplier: out[o] = sum of src[t][o / mult] * wt[t][o].
static void dw_gather_mult(float* out, int n, const float** src, const float** wt, int co, int mult) {
  for (int o = 0; o < co; o++) {
    float a = 0.f;
    for (int t = 0; t < n; t++) a += src[t][o / mult] * wt[t][o];
    out[o] = a;
  }
}

// forward = 1: out (n, oh, ow) <- x (ih = oh*sh - pt + i*dh, iw = ow*sw - pl + j*dw).
// forward = 0: out (n, ih, iw) <- dy (oh = (ih + pt - i*dh) / sh when whole and in range; likewise ow).
static int dw_link(int forward, int o, int k, int s, int d, int pad, int nsrc) {
  if (forward) {
    int i = o * s - pad + k * d;
    return i >= 0 && i < nsrc ? i : -1;
  }
  int a = o + pad - k * d;
  if (a < 0 || a % s) return -1;
  a /= s;
  return a < nsrc ? a : -1;
}

// Both the forward pass and the input gradient gather, for each pixel of their output, rows of
// their source under a set of taps. Which taps and which source pixels depends on the output row
// and column separately, so lists are made once per column (cols: tap column j, source column, in
// the shared scratch) and once per row (rows: tap row i, source row, per slot), and each pixel only
// combines them. Per slot also: the src and wt pointer lists (kh * kw each). Units: ranges of
// output rows.
static int dw_shared(const conv* p) {
  int wmax = imax(p->w, p->ow);
  return wmax * (1 + 2 * p->kw) * 4;
}

static int dw_slot(const conv* p) { return (2 * p->kh * p->kw + 1 + 2 * p->kh + 3 * p->kh) * 4; }

static int dw_gather_prepare(conv* p, int forward) {
  int kw = p->kw, wout = forward ? p->ow : p->w, wsrc = forward ? p->w : p->ow;
  int* cols = (int*)p->scratch;  // per output column: count, then kw pairs
  int cstride = 1 + 2 * kw;
  for (int q = 0; q < wout; q++) {
    int* e = cols + q * cstride;
    e[0] = 0;
    for (int j = 0; j < kw; j++) {
      int sc = dw_link(forward, q, j, p->sw, p->dw, p->pl, wsrc);
      if (sc >= 0) {
        e[1 + 2 * e[0]] = j;
        e[2 + 2 * e[0]] = sc;
        e[0]++;
      }
    }
  }
  return split_units(p->n * (forward ? p->oh : p->h), p->slots, 8);
}

static KERNEL void dw_gather_run(conv* p, int forward, int unit, int slot) {
  int kh = p->kh, kw = p->kw, c = p->c, co = p->co, mult = co / c;
  int hout = forward ? p->oh : p->h, wout = forward ? p->ow : p->w;
  int hsrc = forward ? p->h : p->oh, wsrc = forward ? p->w : p->ow;
  int csrc = forward ? c : co, cout = forward ? co : c;
  const float* srcbase = forward ? p->x : p->y;
  float* dstbase = forward ? p->y : p->x;
  const float* f = p->f;
  const int* cols = (const int*)p->scratch;
  const float** src = (const float**)slot_scratch(p, dw_shared(p), dw_slot(p), slot);
  const float** wt = src + kh * kw;
  int* rows = (int*)(wt + kh * kw);
  // dw_gather_row4's lists: per listed row, its weights, its source row and the source of a block of four pixels.
  const float** rw = (const float**)(rows + 1 + 2 * kh);
  const float** rs = rw + kh;
  const float** rq = rs + kh;
  int cstride = 1 + 2 * kw;
  int total = p->n * hout, lo, hi;
  unit_range(total, split_units(total, p->slots, 8), unit, &lo, &hi);
  for (int nr_index = lo; nr_index < hi; nr_index++) {
    int n = nr_index / hout, r = nr_index % hout;
    rows[0] = 0;
    for (int i = 0; i < kh; i++) {
      int sr = dw_link(forward, r, i, p->sh, p->dh, p->pt, hsrc);
      if (sr >= 0) {
        rows[1 + 2 * rows[0]] = i;
        rows[2 + 2 * rows[0]] = sr;
        rows[0]++;
      }
    }
    int nr = rows[0];
    float* out = dstbase + (long)(n * hout + r) * wout * cout;
    // The forward pass of a 3-wide filter with stride and dilation 1 along the row, one output per channel and at
    // most DW_ROW4_MAX_CHANNELS channels: four pixels at a time where all four have their three taps inside the row
    // (dw_gather_row4).
    int row4 = forward && mult == 1 && kw == 3 && p->sw == 1 && p->dw == 1 && c <= DW_ROW4_MAX_CHANNELS;
    if (row4)
      for (int a = 0; a < nr; a++) {
        rw[a] = f + rows[1 + 2 * a] * kw * co;
        rs[a] = srcbase + (long)(n * hsrc + rows[2 + 2 * a]) * wsrc * csrc;  // the row's first pixel
      }
    for (int q = 0; q < wout; q++, out += cout) {
      const int* e = cols + q * cstride;
      if (row4 && q + 3 < wout && e[0] == 3 && e[3 * cstride] == 3) {
        for (int a = 0; a < nr; a++) rq[a] = rs[a] + e[2] * csrc;  // the first pixel's first tap
        dw_gather_row4(out, nr, rq, rw, c, p->bias, p->act);
        q += 3;
        out += 3 * cout;
        continue;
      }
      int nc = e[0], nt = 0;
      for (int a = 0; a < nr; a++) {
        int i = rows[1 + 2 * a];
        const float* srow = srcbase + (long)(n * hsrc + rows[2 + 2 * a]) * wsrc * csrc;
        const float* frow = f + i * kw * co;
        for (int b = 0; b < nc; b++) {
          src[nt] = srow + e[2 + 2 * b] * csrc;
          wt[nt++] = frow + e[1 + 2 * b] * co;
        }
      }
      if (mult == 1) {
        dw_gather(out, nt, src, wt, c, forward ? p->bias : 0, forward ? p->act : ACT_LINEAR);
      } else if (forward) {
        dw_gather_mult(out, nt, src, wt, co, mult);
        if (p->bias || p->act != ACT_LINEAR) bias_act_row(out, co, p->bias, p->act);
      } else {
        // dx[ci] = sum over taps and the multiplier's outputs o of channel ci: dy[o] * f[o].
        for (int ci = 0; ci < c; ci++) {
          float s = 0.f;
          for (int t = 0; t < nt; t++)
            for (int m = 0; m < mult; m++) s += src[t][ci * mult + m] * wt[t][ci * mult + m];
          out[ci] = s;
        }
      }
    }
  }
}

// df[tap] sums x * dy along each output row, 16 channels at a time, over the output columns whose
// tap stays inside the input. Units: ranges of channels (of 16; of outputs with a multiplier).
static int dw_filter_chunks(const conv* p) { return p->co / p->c == 1 ? cdiv(p->c, 16) : p->co; }

static int dw_bwd_filter_prepare(conv* p) {
  fill_zero(p->f, p->kh * p->kw * p->co);
  return split_units(dw_filter_chunks(p), p->slots, 4);
}

static KERNEL void dw_bwd_filter_run(conv* p, int unit) {
  int c = p->c, co = p->co, mult = co / c;
  int chunks = dw_filter_chunks(p), lo, hi;
  unit_range(chunks, split_units(chunks, p->slots, 4), unit, &lo, &hi);
  int clo = mult == 1 ? lo * 16 : lo, chi = mult == 1 ? imin(c, hi * 16) : hi;
  for (int n = 0; n < p->n; n++)
    for (int oh = 0; oh < p->oh; oh++) {
      const float* dyr = p->y + (long)(n * p->oh + oh) * p->ow * co;
      for (int i = 0; i < p->kh; i++) {
        int ih = oh * p->sh - p->pt + i * p->dh;
        if (ih < 0 || ih >= p->h) continue;
        const float* xr = p->x + (long)(n * p->h + ih) * p->w * c;
        for (int j = 0; j < p->kw; j++) {
          int off = j * p->dw - p->pl;  // iw = ow * sw + off
          int lo_w = off >= 0 ? 0 : cdiv(-off, p->sw);
          int hi_w = imin(p->ow, p->w - 1 - off >= 0 ? (p->w - 1 - off) / p->sw + 1 : 0);
          if (lo_w >= hi_w) continue;
          float* fp = p->f + (i * p->kw + j) * co;
          int xs = p->sw * c;
          if (mult != 1) {
            for (int o = clo; o < chi; o++) {
              float s = 0.f;
              for (int ow = lo_w; ow < hi_w; ow++) s += xr[(ow * p->sw + off) * c + o / mult] * dyr[ow * co + o];
              fp[o] += s;
            }
            continue;
          }
          int c0 = clo;
          for (; c0 + 16 <= chi; c0 += 16) {
            v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0;
            const float* xp = xr + (lo_w * p->sw + off) * c + c0;
            const float* dp = dyr + lo_w * co + c0;
            for (int ow = lo_w; ow < hi_w; ow++, xp += xs, dp += co) {
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(dp)));
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(dp + 4)));
              a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xp + 8), wasm_v128_load(dp + 8)));
              a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(xp + 12), wasm_v128_load(dp + 12)));
            }
            wasm_v128_store(fp + c0, wasm_f32x4_add(wasm_v128_load(fp + c0), a0));
            wasm_v128_store(fp + c0 + 4, wasm_f32x4_add(wasm_v128_load(fp + c0 + 4), a1));
            wasm_v128_store(fp + c0 + 8, wasm_f32x4_add(wasm_v128_load(fp + c0 + 8), a2));
            wasm_v128_store(fp + c0 + 12, wasm_f32x4_add(wasm_v128_load(fp + c0 + 12), a3));
          }
          for (; c0 + 4 <= chi; c0 += 4) {
            v128_t a0 = wasm_f32x4_splat(0.f);
            const float* xp = xr + (lo_w * p->sw + off) * c + c0;
            const float* dp = dyr + lo_w * co + c0;
            for (int ow = lo_w; ow < hi_w; ow++, xp += xs, dp += co)
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(dp)));
            wasm_v128_store(fp + c0, wasm_f32x4_add(wasm_v128_load(fp + c0), a0));
          }
          for (; c0 < chi; c0++) {
            float s = 0.f;
            for (int ow = lo_w; ow < hi_w; ow++) s += xr[(ow * p->sw + off) * c + c0] * dyr[ow * co + c0];
            fp[c0] += s;
          }
        }
      }
    }
}

// ---------------------------------------------------------------------------------------------
// Max pooling's input gradient (tfjs's own wasm kernel sends the gradient of a window whose maximum is
// negative to the wrong pixel). Here x is the pooled input, y the output gradient dy, f the input
// gradient dx (same shape as x); kh, kw, sh, sw, dh, dw, pt, pl describe the window. Each window's
// gradient goes where PyTorch's CPU kernel sends it: to its first maximum in scan order (as tfjs's cpu backend
// does), to its last NaN if it holds one (the forward's NaN, OP_MAXPOOL_FWD), and to its first tap inside the input
// if every value is -infinity. Units: ranges of channels (of 4).
static int maxpool_bwd_prepare(conv* p) {
  fill_zero(p->f, p->n * p->h * p->w * p->c);
  return split_units(cdiv(p->c, 4), p->slots, 4);
}

static KERNEL void maxpool_bwd_run(conv* p, int unit) {
  int c = p->c, lo, hi;
  unit_range(cdiv(c, 4), split_units(cdiv(c, 4), p->slots, 4), unit, &lo, &hi);
  int clo = lo * 4, chi = imin(c, hi * 4);
  for (int n = 0; n < p->n; n++)
    for (int oh = 0; oh < p->oh; oh++)
      for (int ow = 0; ow < p->ow; ow++) {
        const float* dyp = p->y + ((long)(n * p->oh + oh) * p->ow + ow) * c;
        int c0 = clo;
        for (; c0 + 4 <= chi; c0 += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t where = wasm_i32x4_splat(-1);
          int first = -1;
          for (int i = 0; i < p->kh; i++) {
            int ih = oh * p->sh - p->pt + i * p->dh;
            if (ih < 0 || ih >= p->h) continue;
            for (int j = 0; j < p->kw; j++) {
              int iw = ow * p->sw - p->pl + j * p->dw;
              if (iw < 0 || iw >= p->w) continue;
              int at = (n * p->h + ih) * p->w + iw;
              v128_t v = wasm_v128_load(p->x + (long)at * c + c0);
              v128_t gt = wasm_v128_or(wasm_f32x4_gt(v, best), wasm_f32x4_ne(v, v));
              best = wasm_v128_bitselect(v, best, gt);
              where = wasm_v128_bitselect(wasm_i32x4_splat(at), where, gt);
              if (first < 0) first = at;
            }
          }
          // A lane still at -1 saw only -infinity: its first tap takes the gradient.
          where = wasm_v128_bitselect(wasm_i32x4_splat(first), where, wasm_i32x4_eq(where, wasm_i32x4_splat(-1)));
          int w0 = wasm_i32x4_extract_lane(where, 0), w1 = wasm_i32x4_extract_lane(where, 1);
          int w2 = wasm_i32x4_extract_lane(where, 2), w3 = wasm_i32x4_extract_lane(where, 3);
          if (w0 >= 0) p->f[(long)w0 * c + c0] += dyp[c0];
          if (w1 >= 0) p->f[(long)w1 * c + c0 + 1] += dyp[c0 + 1];
          if (w2 >= 0) p->f[(long)w2 * c + c0 + 2] += dyp[c0 + 2];
          if (w3 >= 0) p->f[(long)w3 * c + c0 + 3] += dyp[c0 + 3];
        }
        for (; c0 < chi; c0++) {
          float best = -__builtin_inff();
          int where = -1, first = -1;
          for (int i = 0; i < p->kh; i++) {
            int ih = oh * p->sh - p->pt + i * p->dh;
            if (ih < 0 || ih >= p->h) continue;
            for (int j = 0; j < p->kw; j++) {
              int iw = ow * p->sw - p->pl + j * p->dw;
              if (iw < 0 || iw >= p->w) continue;
              int at = (n * p->h + ih) * p->w + iw;
              float v = p->x[(long)at * c + c0];
              if (first < 0) first = at;
              if (v > best || v != v) {
                best = v;
                where = at;
              }
            }
          }
          if (where < 0) where = first;
          if (where >= 0) p->f[(long)where * c + c0] += dyp[c0];
        }
      }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2x2, 3x3) for stride-1, undilated, ungrouped 3x3 convolution (any padding).
//
// The output is cut into tiles of 2x2 pixels; tile t reads a 4x4 patch d of the input (zeros where
// it falls in the padding or past the edge). With the standard matrices (points 0, 1, -1)
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1],
// the 2x2 output is A^T [ sum over ci of (G g G^T)[ci] .* (B^T d B)[ci] ] A: 16 products per 4
// outputs instead of 36. For each of the 16 points xi the sum over ci is a matrix product
//   M[xi][tiles][co] = V[xi][tiles][ci] x U[xi][ci][co],
// run by the 4x8 register-tiled microkernel below. The transformed filter U is computed once per
// filter (OP_WINO_FILTER; the TypeScript side caches it) and packed as [xi][panel of NR][ci][NR].
//
// Work split of OP_WINO_FWD: blocks of `tb` tiles times chunks of `cc` output channels. A unit
// transforms the input of its tiles (into V, its slot's scratch), runs the 16 products for its
// channels (into M, scratch) and transforms M into the output with the bias and activation. With
// one thread a unit takes every channel; with more, blocks are of nearly equal size, and when there
// are too few to share, a filter that fits in cache (WINO_SMALL_FILTER_BYTES) gets smaller blocks,
// a larger one a split of its channels. Each output element is the same sum in the same order (over ci ascending,
// then the fixed output transform) whatever the split, so results do not depend on the threads.
// (Small calls get slots = 1 from the TypeScript side, THREAD_MIN_WORK in module.ts: one unit.)

// A transformed filter of at most this many bytes is cheap enough to read once per block (from the L2 and the shared
// L3 cache): threads split its tiles, not its output channels (ResNet-20's 3x3 convolutions at batch 1, 8x8x64: 46 us
// on one thread, 85 us on two with channel chunks, 41 us with smaller blocks; 14x14x256 with F(2x2), 4 MiB: 1.56x ->
// 1.72-1.91x on two threads).
enum { WINO_SMALL_FILTER_BYTES = 1 << 22 };

// Floats added to the step from one transform point to the next in V and M (a cache line): without it the step was
// often a multiple of 4 KiB (4 tiles x 512 channels: 8 KiB), so the 16 or 36 values of one tile and channel
// group fell in one set of the L1 cache, more than its ways.
enum { WINO_SKEW = 16 };

typedef struct {
  int m, pts;                   // output tile side (2 or 4) and transform points ((m + 2)^2: 16 or 36)
  int tiles_h, tiles_w, tiles;  // tiles per column, per row, in all (every image)
  int cinp;                     // V's row length: channels rounded up to 4
  int tb;                       // tiles per block (a multiple of MR)
  int cc;                       // output channels per chunk (a multiple of NR, except a last chunk)
  int ccp;                      // M's row length (cc rounded up to NR)
  int blocks, chunks;           // units = blocks * chunks
} wino_plan;

// Not a struct in memory (that would need the shadow stack): returned by value, in registers.
// m: 2 for F(2x2, 3x3) (OP_WINO_FWD), 4 for F(4x4, 3x3) (OP_WINO4_FWD).
static inline __attribute__((always_inline)) wino_plan wino_make_plan(const conv* p, int m) {
  wino_plan w;
  w.m = m;
  w.pts = (m + 2) * (m + 2);
  w.tiles_h = cdiv(p->oh, m);
  w.tiles_w = cdiv(p->ow, m);
  w.tiles = p->n * w.tiles_h * w.tiles_w;
  w.cinp = (p->c + 3) & ~3;
  int cop = cdiv(p->co, NR) * NR;
  // V and M of one block: 4 * pts * tb * (cinp + ccp) bytes, about 1 MiB at most (L2 cache). Every block
  // reads the whole transformed filter, 4 * pts * c * co bytes: with F(4x4) and 1024 channels in and out or more
  // (512 x 512: 38 MiB) four times larger blocks measured faster (bench/kernel-ops.mjs, 7x7x512, batch 32:
  // 110 -> 83 ms), while at 56x56x64 they were 1.4x slower.
  int budget = m == 4 && w.cinp + cop >= 1024 ? 1 << 20 : 1 << 18;
  int tb = (budget / w.pts / (w.cinp + cop)) & ~(MR - 1);
  int tbmax = imax(2 * MR, imin(64, tb)), quads = cdiv(w.tiles, MR);
  w.blocks = cdiv(w.tiles, tbmax);
  // On several threads, a whole number of blocks per thread where there are more blocks than threads, and blocks of
  // nearly equal size (wino_tiles): blocks of tbmax tiles and a short last one left a thread idle for a quarter of
  // ResNet's 56x56 layers with F(4x4) (196 tiles: 56, 56, 56, 28 -> 48, 48, 48, 52).
  if (p->slots > 1 && w.blocks > p->slots) w.blocks = imin(quads, cdiv(w.blocks, p->slots) * p->slots);
  w.chunks = 1;
  if (p->slots > 1 && w.blocks < 2 * p->slots) {
    if ((long long)w.pts * w.cinp * cop * 4 <= WINO_SMALL_FILTER_BYTES) {
      // Too few tile blocks for the threads, and a transformed filter that stays in each core's cache: smaller
      // blocks, down to one quad of tiles, each reading all of the filter.
      w.blocks = imin(quads, 2 * p->slots);
    } else {
      // Too few tile blocks and a large filter: split the channels too, into as many units as threads (each chunk
      // reads its part of the filter and redoes the input transform of its block). More chunks, for balance, cost
      // more than they gave: with four per thread 7x7x512 at batch 1 took 2.9 ms on two threads, with one 1.7 ms.
      int want = cdiv(p->slots, w.blocks);
      w.chunks = imax(1, imin(want, cop / 32));
    }
  }
  w.tb = cdiv(quads, w.blocks) * MR;  // the largest block, at most tbmax
  w.cc = cdiv(cdiv(p->co, w.chunks), NR) * NR;
  w.chunks = cdiv(p->co, w.cc);
  w.ccp = w.cc;
  return w;
}

// The tiles [*t0, *t0 + *nt) of block blk: whole quads of MR tiles, spread evenly over the blocks.
static inline __attribute__((always_inline)) void wino_tiles(int tiles, int blocks, int blk, int* t0, int* nt) {
  int lo, hi;
  unit_range(cdiv(tiles, MR), blocks, blk, &lo, &hi);
  *t0 = lo * MR;
  *nt = imin(tiles, hi * MR) - lo * MR;
}

static int wino_slot(const conv* p, int m) {
  wino_plan w = wino_make_plan(p, m);
  return w.pts * (w.tb * (w.cinp + w.ccp) + 2 * WINO_SKEW) * 4;
}

// C[4][8] = A[4][kc] x B[kc][8]: rows of A `as` floats apart, B a packed panel, rows of C `cs` apart.
static void wgemm_4x8(int kc, const float* a, int as, const float* b, float* c, int cs) {
  v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const float *p0 = a, *p1 = a + as, *p2 = a + 2 * as, *p3 = a + 3 * as;
  for (int k = 0; k < kc; k++) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    b += NR;
    v128_t v;
    v = wasm_v128_load32_splat(p0 + k);
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v, b0));
    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(p1 + k);
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v, b0));
    a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(p2 + k);
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v, b0));
    a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v, b1));
    v = wasm_v128_load32_splat(p3 + k);
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v, b0));
    a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v, b1));
  }
  wasm_v128_store(c, a00);
  wasm_v128_store(c + 4, a01);
  wasm_v128_store(c + cs, a10);
  wasm_v128_store(c + cs + 4, a11);
  wasm_v128_store(c + 2 * cs, a20);
  wasm_v128_store(c + 2 * cs + 4, a21);
  wasm_v128_store(c + 3 * cs, a30);
  wasm_v128_store(c + 3 * cs + 4, a31);
}

// U[xi][panel][ci][NR] = (G g G^T)[xi] for the filter f[3][3][c][co]; zero columns past co.
// Units: ranges of input channels.
static int wino_filter_prepare(conv* p) { return split_units(p->c, p->slots, 2); }

// Declares g0 .. g8, the nine taps (row by row) of input channel ci and output channel o of the 3x3 filter f
// [3][3][c][co], or zeros for o >= co (the padding columns of the last panel). flip: f is the filter of the
// convolution whose input gradient this one computes, [3][3][co][c] (its input channels are this one's output
// channels): tap t of this filter is its tap 8 - t, transposed.
#define WINO_TAPS(f, c, co, ci, o, flip)                                                         \
  float g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0, g8 = 0;                  \
  if ((o) < (co)) {                                                                              \
    int s_ = (flip) ? -(c) * (co) : (c) * (co), b_ = (flip) ? (o) * (c) + (ci) + 8 * (c) * (co) \
                                                             : (ci) * (co) + (o);                \
    g0 = f[b_], g1 = f[b_ + s_], g2 = f[b_ + 2 * s_], g3 = f[b_ + 3 * s_], g4 = f[b_ + 4 * s_];   \
    g5 = f[b_ + 5 * s_], g6 = f[b_ + 6 * s_], g7 = f[b_ + 7 * s_], g8 = f[b_ + 8 * s_];           \
  }

static KERNEL void wino_filter_run(conv* p, int unit, int units, int flip) {
  int c = p->c, co = p->co, np = cdiv(co, NR);
  int lo, hi;
  unit_range(c, units, unit, &lo, &hi);
  const float* f = p->f;
  for (int ci = lo; ci < hi; ci++)
    for (int o = 0; o < np * NR; o++) {
      WINO_TAPS(f, c, co, ci, o, flip)
      // Rows of G g (4 x 3), then (G g) G^T (4 x 4).
      float r00 = g0, r01 = g1, r02 = g2;
      float r10 = 0.5f * (g0 + g3 + g6), r11 = 0.5f * (g1 + g4 + g7), r12 = 0.5f * (g2 + g5 + g8);
      float r20 = 0.5f * (g0 - g3 + g6), r21 = 0.5f * (g1 - g4 + g7), r22 = 0.5f * (g2 - g5 + g8);
      float r30 = g6, r31 = g7, r32 = g8;
      float* u = p->y + ((long)(o / NR) * c + ci) * NR + o % NR;
      int step = np * NR * c;  // floats from one point xi to the next
#define WROW(i, a, b2, c2)                                   \
  u[(i * 4 + 0) * step] = a;                                 \
  u[(i * 4 + 1) * step] = 0.5f * (a + b2 + c2);              \
  u[(i * 4 + 2) * step] = 0.5f * (a - b2 + c2);              \
  u[(i * 4 + 3) * step] = c2;
      WROW(0, r00, r01, r02)
      WROW(1, r10, r11, r12)
      WROW(2, r20, r21, r22)
      WROW(3, r30, r31, r32)
#undef WROW
    }
}

static int wino_fwd_prepare(conv* p, int m) {
  wino_plan w = wino_make_plan(p, m);
  return w.blocks * w.chunks;
}

// The input patch of tile tt ((m + 2) x (m + 2) pixels for m x m outputs): the address of its first pixel (which may
// lie in the padding) and, in *rm / *cm, bit i set when its row / column i is inside the input.
static inline __attribute__((always_inline)) const float* wino_patch(const conv* p, wino_plan w, int tt, int* rm,
                                                                     int* cm) {
  int tx = tt % w.tiles_w, ty = (tt / w.tiles_w) % w.tiles_h, n = tt / (w.tiles_w * w.tiles_h);
  int iy = w.m * ty - p->pt, ix = w.m * tx - p->pl, r = 0, k = 0;
  for (int i = 0; i < w.m + 2; i++) {
    if (iy + i >= 0 && iy + i < p->h) r |= 1 << i;
    if (ix + i >= 0 && ix + i < p->w) k |= 1 << i;
  }
  *rm = r;
  *cm = k;
  return p->x + ((long)(n * p->h + iy) * p->w + ix) * p->c;
}

// The output block of tile tt: the address of its first value (channel 0) and, in *rows / *cols, how many of its m
// rows and columns are inside the output.
static inline __attribute__((always_inline)) float* wino_block(const conv* p, wino_plan w, int tt, int* rows,
                                                               int* cols) {
  int tx = tt % w.tiles_w, ty = (tt / w.tiles_w) % w.tiles_h, n = tt / (w.tiles_w * w.tiles_h);
  int oy = w.m * ty, ox = w.m * tx;
  *rows = imin(w.m, p->oh - oy);
  *cols = imin(w.m, p->ow - ox);
  return p->y + ((long)(n * p->oh + oy) * p->ow + ox) * p->co;
}

// The products of one unit: for each of the pts points xi, M[xi] (ntp tiles x ncc channels, rows ccp apart)
// = V[xi] (ntp tiles x c, rows cinp apart) x U[xi] (the channels co0 .. co0 + ncc of the packed filter u, whose
// points are np * NR * c floats apart), in strips of MR tiles by panels of NR channels (rows past the unit's
// tiles are computed from stale scratch and never read).
static inline void wino_products(int pts, const float* V, int vstep, float* M, int mstep, const float* u, int np,
                                 int c, int cinp, int ccp, int co0, int ncc, int ntp) {
  for (int xi = 0; xi < pts; xi++) {
    const float* a = V + xi * vstep;
    float* m = M + xi * mstep;
    const float* ux = u + (long)xi * np * NR * c;
    for (int j = 0; j < ncc; j += NR) {
      const float* b = ux + (long)((co0 + j) / NR) * NR * c;
      for (int r = 0; r < ntp; r += MR) wgemm_4x8(c, a + r * cinp, cinp, b, m + r * ccp + j, ccp);
    }
  }
}

// The opening both forward kernels share (m = 2 or 4): the plan, this unit's block of tiles [t0, t0 + nt) (ntp
// rounded up to MR) and chunk of output channels [co0, co0 + ncc), and the slot's V and M with their steps from one
// transform point to the next. A macro, not a function: the plan is a struct, which a function could only hand back
// through the shadow stack the build refuses.
#define WINO_FWD_PRELUDE(m)                                                                        \
  wino_plan w = wino_make_plan(p, m);                                                             \
  int blk = unit / w.chunks, chunk = unit % w.chunks;                                             \
  int t0, nt;                                                                                     \
  wino_tiles(w.tiles, w.blocks, blk, &t0, &nt);                                                   \
  int ntp = (nt + MR - 1) & ~(MR - 1);                                                            \
  int c = p->c, cinp = w.cinp, W = p->w;                                                          \
  int co0 = chunk * w.cc, ncc = imin(w.cc, p->co - co0), ccp = w.ccp, np = cdiv(p->co, NR);       \
  float* V = (float*)slot_scratch(p, 0, wino_slot(p, m), slot);                                   \
  int vstep = w.tb * cinp + WINO_SKEW, mstep = w.tb * ccp + WINO_SKEW;                            \
  float* M = V + w.pts * vstep;                                                                   \
  v128_t z = wasm_f32x4_splat(0.f);

static KERNEL void wino_fwd_run(conv* p, int unit, int slot) {
  WINO_FWD_PRELUDE(2)

  // Input transform: V[xi][t][ci] = (B^T d B)[xi].
  for (int t = 0; t < nt; t++) {
    int rm, cm;
    const float* base = wino_patch(p, w, t0 + t, &rm, &cm);
    float* v = V + t * cinp;
    int full = rm == 15 && cm == 15;
    for (int ci = 0; ci < c; ci += 4) {
      int nc = imin(4, c - ci);
#define LD(i, j)                                                                                    \
  ((full || ((rm >> (i)) & (cm >> (j)) & 1)) ? load_part(base + ((i) * W + (j)) * c + ci, nc) : z)
      v128_t d00 = LD(0, 0), d01 = LD(0, 1), d02 = LD(0, 2), d03 = LD(0, 3);
      v128_t d10 = LD(1, 0), d11 = LD(1, 1), d12 = LD(1, 2), d13 = LD(1, 3);
      v128_t d20 = LD(2, 0), d21 = LD(2, 1), d22 = LD(2, 2), d23 = LD(2, 3);
      v128_t d30 = LD(3, 0), d31 = LD(3, 1), d32 = LD(3, 2), d33 = LD(3, 3);
#undef LD
      // B^T d (rows), then (B^T d) B (columns).
#define COLS(r0, r1, r2, r3, i)                                                   \
  wasm_v128_store(v + (i * 4 + 0) * vstep + ci, wasm_f32x4_sub(r0, r2));          \
  wasm_v128_store(v + (i * 4 + 1) * vstep + ci, wasm_f32x4_add(r1, r2));          \
  wasm_v128_store(v + (i * 4 + 2) * vstep + ci, wasm_f32x4_sub(r2, r1));          \
  wasm_v128_store(v + (i * 4 + 3) * vstep + ci, wasm_f32x4_sub(r1, r3));
      {
        v128_t a0 = wasm_f32x4_sub(d00, d20), a1 = wasm_f32x4_sub(d01, d21), a2 = wasm_f32x4_sub(d02, d22),
               a3 = wasm_f32x4_sub(d03, d23);
        COLS(a0, a1, a2, a3, 0)
      }
      {
        v128_t a0 = wasm_f32x4_add(d10, d20), a1 = wasm_f32x4_add(d11, d21), a2 = wasm_f32x4_add(d12, d22),
               a3 = wasm_f32x4_add(d13, d23);
        COLS(a0, a1, a2, a3, 1)
      }
      {
        v128_t a0 = wasm_f32x4_sub(d20, d10), a1 = wasm_f32x4_sub(d21, d11), a2 = wasm_f32x4_sub(d22, d12),
               a3 = wasm_f32x4_sub(d23, d13);
        COLS(a0, a1, a2, a3, 2)
      }
      {
        v128_t a0 = wasm_f32x4_sub(d10, d30), a1 = wasm_f32x4_sub(d11, d31), a2 = wasm_f32x4_sub(d12, d32),
               a3 = wasm_f32x4_sub(d13, d33);
        COLS(a0, a1, a2, a3, 3)
      }
#undef COLS
    }
  }

  // The 16 products.
  wino_products(16, V, vstep, M, mstep, p->f, np, c, cinp, ccp, co0, ncc, ntp);

  // Output transform with bias and activation: y = A^T m A.
  for (int t = 0; t < nt; t++) {
    int rows, cols;
    float* y0 = wino_block(p, w, t0 + t, &rows, &cols) + co0;
    int two_rows = rows > 1, two_cols = cols > 1;
    float* y1 = y0 + (long)p->ow * p->co;
    const float* m = M + t * ccp;
    for (int j = 0; j < ncc; j += 4) {
      int nc = imin(4, ncc - j);
#define MV(xi) wasm_v128_load(m + (xi) * mstep + j)
      // A^T m: two rows of four.
      v128_t s00 = wasm_f32x4_add(wasm_f32x4_add(MV(0), MV(4)), MV(8));
      v128_t s01 = wasm_f32x4_add(wasm_f32x4_add(MV(1), MV(5)), MV(9));
      v128_t s02 = wasm_f32x4_add(wasm_f32x4_add(MV(2), MV(6)), MV(10));
      v128_t s03 = wasm_f32x4_add(wasm_f32x4_add(MV(3), MV(7)), MV(11));
      v128_t s10 = wasm_f32x4_sub(wasm_f32x4_sub(MV(4), MV(8)), MV(12));
      v128_t s11 = wasm_f32x4_sub(wasm_f32x4_sub(MV(5), MV(9)), MV(13));
      v128_t s12 = wasm_f32x4_sub(wasm_f32x4_sub(MV(6), MV(10)), MV(14));
      v128_t s13 = wasm_f32x4_sub(wasm_f32x4_sub(MV(7), MV(11)), MV(15));
#undef MV
      v128_t bias = p->bias ? load_part(p->bias + co0 + j, nc) : z;
      v128_t o00 = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(s00, s01), s02), bias);
      v128_t o01 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_sub(s01, s02), s03), bias);
      v128_t o10 = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(s10, s11), s12), bias);
      v128_t o11 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_sub(s11, s12), s13), bias);
      o00 = act4(o00, p->act), o01 = act4(o01, p->act);
      o10 = act4(o10, p->act), o11 = act4(o11, p->act);
      store_part(y0 + j, o00, nc);
      if (two_cols) store_part(y0 + p->co + j, o01, nc);
      if (two_rows) {
        store_part(y1 + j, o10, nc);
        if (two_cols) store_part(y1 + p->co + j, o11, nc);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3): the same scheme with tiles of 4x4 outputs, each reading a 6x6 patch, with the
// points 0, 1, -1, 2, -2 and infinity:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
// 36 products per 16 outputs (2.25 per output against F(2x2)'s 4 and the direct convolution's 9), at the
// price of larger transform constants: the error against a float64 convolution grows a few times (bench and
// test in winograd.test.ts / bench/winograd.mjs), so the TypeScript side picks it only where it measured
// faster. The work split, scratch layout and product loop are F(2x2)'s (wino_plan with m = 4).

// The six outputs of B^T z for one column (or row) z of a 6x6 patch.
#define W4_BT(z0, z1, z2, z3, z4, z5, r0, r1, r2, r3, r4, r5)                                                    \
  {                                                                                                             \
    v128_t a_ = wasm_f32x4_sub(z4, wasm_f32x4_mul(four, z2)), b_ = wasm_f32x4_sub(z3, wasm_f32x4_mul(four, z1)); \
    v128_t c_ = wasm_f32x4_sub(z4, z2), e_ = wasm_f32x4_mul(two, wasm_f32x4_sub(z3, z1));                       \
    r0 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(four, z0), wasm_f32x4_mul(five, z2)), z4);               \
    r1 = wasm_f32x4_add(a_, b_);                                                                                \
    r2 = wasm_f32x4_sub(a_, b_);                                                                                \
    r3 = wasm_f32x4_add(c_, e_);                                                                                \
    r4 = wasm_f32x4_sub(c_, e_);                                                                                \
    r5 = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(four, z1), wasm_f32x4_mul(five, z3)), z5);               \
  }

// The four outputs of A^T z for six values z.
#define W4_AT(z0, z1, z2, z3, z4, z5, o0, o1, o2, o3)                                 \
  {                                                                                   \
    v128_t s12_ = wasm_f32x4_add(z1, z2), d12_ = wasm_f32x4_sub(z1, z2);              \
    v128_t s34_ = wasm_f32x4_add(z3, z4), d34_ = wasm_f32x4_sub(z3, z4);              \
    o0 = wasm_f32x4_add(wasm_f32x4_add(z0, s12_), s34_);                              \
    o1 = wasm_f32x4_add(d12_, wasm_f32x4_mul(two, d34_));                             \
    o2 = wasm_f32x4_add(s12_, wasm_f32x4_mul(four, s34_));                            \
    o3 = wasm_f32x4_add(wasm_f32x4_add(d12_, wasm_f32x4_mul(eight, d34_)), z5);       \
  }

// U[xi][panel][ci][NR] = (G g G^T)[xi] for the filter f[3][3][c][co]; zero columns past co. Units: ranges of
// input channels (as wino_filter_run).
// The six values of G z for three values z (scalars).
#define W4_G(z0, z1, z2, u0, u1, u2, u3, u4, u5)              \
  {                                                           \
    float s_ = z0 + z2;                                       \
    u0 = 0.25f * z0;                                          \
    u1 = -(s_ + z1) * (1.f / 6);                              \
    u2 = -(s_ - z1) * (1.f / 6);                              \
    u3 = z0 * (1.f / 24) + z1 * (1.f / 12) + z2 * (1.f / 6); \
    u4 = z0 * (1.f / 24) - z1 * (1.f / 12) + z2 * (1.f / 6); \
    u5 = z2;                                                  \
  }

static KERNEL void wino4_filter_run(conv* p, int unit, int units, int flip) {
  int c = p->c, co = p->co, np = cdiv(co, NR);
  int lo, hi;
  unit_range(c, units, unit, &lo, &hi);
  const float* f = p->f;
  int step = np * NR * c;  // floats from one point xi to the next
  for (int ci = lo; ci < hi; ci++)
    for (int o = 0; o < np * NR; o++) {
      WINO_TAPS(f, c, co, ci, o, flip)
      // G g (6 x 3) column by column, then each of its rows times G^T (6 x 6).
      float r00, r10, r20, r30, r40, r50, r01, r11, r21, r31, r41, r51, r02, r12, r22, r32, r42, r52;
      W4_G(g0, g3, g6, r00, r10, r20, r30, r40, r50)
      W4_G(g1, g4, g7, r01, r11, r21, r31, r41, r51)
      W4_G(g2, g5, g8, r02, r12, r22, r32, r42, r52)
      float* u = p->y + ((long)(o / NR) * c + ci) * NR + o % NR;
#define W4_ROW(i, a, b2, c2)                                                                                  \
  {                                                                                                           \
    float v0, v1, v2, v3, v4, v5;                                                                             \
    W4_G(a, b2, c2, v0, v1, v2, v3, v4, v5)                                                                   \
    u[(i * 6 + 0) * step] = v0, u[(i * 6 + 1) * step] = v1, u[(i * 6 + 2) * step] = v2;                         \
    u[(i * 6 + 3) * step] = v3, u[(i * 6 + 4) * step] = v4, u[(i * 6 + 5) * step] = v5;                         \
  }
      W4_ROW(0, r00, r01, r02)
      W4_ROW(1, r10, r11, r12)
      W4_ROW(2, r20, r21, r22)
      W4_ROW(3, r30, r31, r32)
      W4_ROW(4, r40, r41, r42)
      W4_ROW(5, r50, r51, r52)
#undef W4_ROW
    }
}

// y[0..nc) = act(v + bias).
static inline void wino4_store(float* y, v128_t v, v128_t bias, int act, int nc) {
  store_part(y, act4(wasm_f32x4_add(v, bias), act), nc);
}

static KERNEL void wino4_fwd_run(conv* p, int unit, int slot) {
  WINO_FWD_PRELUDE(4)
  v128_t two = wasm_f32x4_splat(2.f), four = wasm_f32x4_splat(4.f);
  v128_t five = wasm_f32x4_splat(5.f), eight = wasm_f32x4_splat(8.f);

  // Input transform, V[xi][t][ci] = (B^T d B)[xi], in two passes through V: each row of the patch times B
  // (V[6 k + j] = (d B)[k][j]), then B^T times each column, in place.
  for (int t = 0; t < nt; t++) {
    int rm, cm;
    const float* base = wino_patch(p, w, t0 + t, &rm, &cm);
    float* v = V + t * cinp;
    int full = rm == 63 && cm == 63;
    for (int ci = 0; ci < c; ci += 4) {
      int nc = imin(4, c - ci);
      for (int k = 0; k < 6; k++) {
        v128_t d0 = z, d1 = z, d2 = z, d3 = z, d4 = z, d5 = z;
        if ((rm >> k) & 1) {
          const float* row = base + (long)k * W * c + ci;
          if (full || (cm & 1)) d0 = load_part(row, nc);
          if (full || (cm & 2)) d1 = load_part(row + c, nc);
          if (full || (cm & 4)) d2 = load_part(row + 2 * c, nc);
          if (full || (cm & 8)) d3 = load_part(row + 3 * c, nc);
          if (full || (cm & 16)) d4 = load_part(row + 4 * c, nc);
          if (full || (cm & 32)) d5 = load_part(row + 5 * c, nc);
        }
        v128_t r0, r1, r2, r3, r4, r5;
        W4_BT(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)
        float* o = v + (6 * k) * vstep + ci;
        wasm_v128_store(o, r0);
        wasm_v128_store(o + vstep, r1);
        wasm_v128_store(o + 2 * vstep, r2);
        wasm_v128_store(o + 3 * vstep, r3);
        wasm_v128_store(o + 4 * vstep, r4);
        wasm_v128_store(o + 5 * vstep, r5);
      }
      for (int j = 0; j < 6; j++) {
        float* o = v + j * vstep + ci;
        v128_t e0 = wasm_v128_load(o), e1 = wasm_v128_load(o + 6 * vstep), e2 = wasm_v128_load(o + 12 * vstep);
        v128_t e3 = wasm_v128_load(o + 18 * vstep), e4 = wasm_v128_load(o + 24 * vstep);
        v128_t e5 = wasm_v128_load(o + 30 * vstep);
        v128_t r0, r1, r2, r3, r4, r5;
        W4_BT(e0, e1, e2, e3, e4, e5, r0, r1, r2, r3, r4, r5)
        wasm_v128_store(o, r0);
        wasm_v128_store(o + 6 * vstep, r1);
        wasm_v128_store(o + 12 * vstep, r2);
        wasm_v128_store(o + 18 * vstep, r3);
        wasm_v128_store(o + 24 * vstep, r4);
        wasm_v128_store(o + 30 * vstep, r5);
      }
    }
  }

  // The 36 products.
  wino_products(36, V, vstep, M, mstep, p->f, np, c, cinp, ccp, co0, ncc, ntp);

  // Output transform with bias and activation, y = A^T m A: each row of m times A (4 values per row, kept in
  // q), then A^T times each of the 4 columns.
  for (int t = 0; t < nt; t++) {
    int rows, cols;
    float* y0 = wino_block(p, w, t0 + t, &rows, &cols) + co0;
    const float* m = M + t * ccp;
    for (int j = 0; j < ncc; j += 4) {
      int nc = imin(4, ncc - j);
      // Row k of m times A: q[k][0..3], rows one to six.
#define W4_QROW(k, q0, q1, q2, q3)                                                                        \
  v128_t q0, q1, q2, q3;                                                                                  \
  {                                                                                                       \
    const float* mk = m + (6 * k) * mstep + j;                                                            \
    v128_t m0 = wasm_v128_load(mk), m1 = wasm_v128_load(mk + mstep), m2 = wasm_v128_load(mk + 2 * mstep); \
    v128_t m3 = wasm_v128_load(mk + 3 * mstep), m4 = wasm_v128_load(mk + 4 * mstep);                      \
    v128_t m5 = wasm_v128_load(mk + 5 * mstep);                                                           \
    W4_AT(m0, m1, m2, m3, m4, m5, q0, q1, q2, q3)                                                         \
  }
      W4_QROW(0, q00, q01, q02, q03)
      W4_QROW(1, q10, q11, q12, q13)
      W4_QROW(2, q20, q21, q22, q23)
      W4_QROW(3, q30, q31, q32, q33)
      W4_QROW(4, q40, q41, q42, q43)
      W4_QROW(5, q50, q51, q52, q53)
#undef W4_QROW
      v128_t bias = p->bias ? load_part(p->bias + co0 + j, nc) : z;
      // Column cx of the tile: A^T (q[0][cx] .. q[5][cx]), then bias, activation and the rows inside the output.
#define W4_COL(cx, a0, a1, a2, a3, a4, a5)                                         \
  if (cx < cols) {                                                                 \
    v128_t o0, o1, o2, o3;                                                         \
    W4_AT(a0, a1, a2, a3, a4, a5, o0, o1, o2, o3)                                  \
    float* yc = y0 + (long)(cx) * p->co + j;                                       \
    wino4_store(yc, o0, bias, p->act, nc);                                         \
    if (rows > 1) wino4_store(yc + (long)p->ow * p->co, o1, bias, p->act, nc);     \
    if (rows > 2) wino4_store(yc + 2L * p->ow * p->co, o2, bias, p->act, nc);      \
    if (rows > 3) wino4_store(yc + 3L * p->ow * p->co, o3, bias, p->act, nc);      \
  }
      W4_COL(0, q00, q10, q20, q30, q40, q50)
      W4_COL(1, q01, q11, q21, q31, q41, q51)
      W4_COL(2, q02, q12, q22, q32, q42, q52)
      W4_COL(3, q03, q13, q23, q33, q43, q53)
#undef W4_COL
    }
  }
}

#undef W4_BT
#undef W4_AT
#undef W4_G
#undef WINO_TAPS

// ---------------------------------------------------------------------------------------------
// Element-wise: y[i] = act(x[i] (op) f[i mod c]) for i < n (EW_NONE: act(x[i])), which covers tensors of one
// shape (c = n), a per-channel vector (c = channels) and a scalar (c = 1). Units: ranges of whole rows of c
// (any split gives the same values: each element is one operation).

static int ew_rows(const conv* p) { return p->c >= p->n ? 1 : p->n / p->c; }

static int ew_prepare(conv* p) {
  int rows = ew_rows(p);
  // 64K floats at least per unit: below that, waking a thread costs more than the pass.
  int units = imin(rows, imin(4 * p->slots, imax(1, p->n / 65536)));
  return p->slots <= 1 ? 1 : imax(1, units);
}

static inline __attribute__((always_inline)) v128_t ew_apply(v128_t a, v128_t b, int op, int act) {
  if (op == EW_ADD) a = wasm_f32x4_add(a, b);
  else if (op == EW_MUL) a = wasm_f32x4_mul(a, b);
  else if (op == EW_SUB) a = wasm_f32x4_sub(a, b);
  if (act == ACT_HSWISH) {
    v128_t t = wasm_f32x4_add(a, wasm_f32x4_splat(3.f));
    t = wasm_f32x4_min(wasm_f32x4_max(t, wasm_f32x4_splat(0.f)), wasm_f32x4_splat(6.f));
    return wasm_f32x4_mul(a, wasm_f32x4_mul(t, wasm_f32x4_splat(1.f / 6.f)));
  }
  return act4(a, act);
}

// Rows [lo, hi) of c floats (c = 0: a scalar f[0] over floats [lo, hi)). Inlined with constant op and act,
// so that each combination is its own loop without branches.
static inline __attribute__((always_inline)) void ew_rows_run(const float* x, const float* f, float* y, int c,
                                                              int lo, int hi, int op, int act) {
  if (c == 0) {
    v128_t b = op == EW_NONE ? wasm_f32x4_splat(0.f) : wasm_f32x4_splat(f[0]);
    int i = lo;
    for (; i + 4 <= hi; i += 4) wasm_v128_store(y + i, ew_apply(wasm_v128_load(x + i), b, op, act));
    if (i < hi) store_part(y + i, ew_apply(load_part(x + i, hi - i), b, op, act), hi - i);
    return;
  }
  for (int r = lo; r < hi; r++) {
    const float* xr = x + (long)r * c;
    float* yr = y + (long)r * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t b = op == EW_NONE ? wasm_f32x4_splat(0.f) : wasm_v128_load(f + j);
      wasm_v128_store(yr + j, ew_apply(wasm_v128_load(xr + j), b, op, act));
    }
    if (j < c) {
      v128_t b = op == EW_NONE ? wasm_f32x4_splat(0.f) : load_part(f + j, c - j);
      store_part(yr + j, ew_apply(load_part(xr + j, c - j), b, op, act), c - j);
    }
  }
}

static KERNEL void ew_run(conv* p, int unit) {
  int rows = ew_rows(p), c = p->c >= p->n ? p->n : p->c, lo, hi;
  unit_range(rows, ew_prepare(p), unit, &lo, &hi);
  if (c == 1) c = 0;  // a scalar: rows are single floats, run as one stretch
#define EW_CASE(OP, ACT) \
  if (p->groups == OP && p->act == ACT) return ew_rows_run(p->x, p->f, p->y, c, lo, hi, OP, ACT);
#define EW_ACTS(OP) EW_CASE(OP, ACT_LINEAR) EW_CASE(OP, ACT_RELU) EW_CASE(OP, ACT_RELU6) EW_CASE(OP, ACT_HSWISH)
  EW_ACTS(EW_ADD)
  EW_ACTS(EW_MUL)
  EW_ACTS(EW_SUB)
  EW_ACTS(EW_NONE)
#undef EW_ACTS
#undef EW_CASE
}

// ---------------------------------------------------------------------------------------------
// Training: BatchNorm (issue 15). Channels last: x is n rows of c channels. The statistics and the gradient's
// sums are one read of the input each (instead of tfjs's mean, subtract, square, mean, ... one pass per op):
// per channel, float32 partial sums over blocks of BN_BLOCK rows (the block stays in L1 cache), added into
// double totals, so a sum over a million rows keeps float32 accuracy. The reductions split rows: each unit sums a
// fixed range of row blocks over every channel into totals of its own, and `finish` adds the units' totals in unit
// order. The ranges depend on the sizes alone, never on the thread count, so neither does the result. (Splitting
// channels instead made every unit of a narrow layer read every cache line of the tensor: with 16 or 32 channels
// the statistics took twice as long on two threads as on one.) The element-wise passes split rows like OP_ELTWISE.

enum { BN_BLOCK = 64, BN_UNIT_BLOCKS = 16, BN_MAX_UNITS = 16 };

// Units of a reduction over n rows of c channels: one below the element-wise passes' size rule (bn_rows_prepare),
// else ranges of at least BN_UNIT_BLOCKS blocks, at most BN_MAX_UNITS of them.
static int bn_sums_prepare(const conv* p) {
  if ((long)p->n * p->c < 65536) return 1;
  return imax(1, imin(BN_MAX_UNITS, cdiv(p->n, BN_BLOCK) / BN_UNIT_BLOCKS));
}

// Shared scratch: each unit's 2c double totals.
static int bn_scratch(const conv* p) { return bn_sums_prepare(p) * 2 * p->c * 8 + 64; }

// The 2c double totals of unit `unit`.
static double* bn_totals(const conv* p, int unit) {
  return (double*)(((unsigned long)p->scratch + 15) & ~15ul) + (long)unit * 2 * p->c;
}

// The activation folded into BatchNorm's gradient (OP_BN_BWD_SUMS, OP_BN_BWD_INPUT with act ACT_RELU or ACT_RELU6):
// dy arrives as the gradient of act(z), z = (x - mean) * scale + shift the forward's output before the activation
// (bn_affine_run's float operations, in its order, so z has the forward's bits), and becomes z's gradient
// dy * relu_mask4(z): what OP_RELU_GRAD would have written, without the pass. (Three arguments, not a struct: a
// struct passed by value would live on the shadow stack, which the kernels must not use.)
static inline __attribute__((always_inline)) v128_t bn_act_grad(v128_t d, v128_t centred, int act, const float* scale,
                                                                const float* shift, int j, int m) {
  if (act == ACT_LINEAR) return d;
  v128_t z = wasm_f32x4_add(wasm_f32x4_mul(centred, load_part(scale + j, m)), load_part(shift + j, m));
  return wasm_f32x4_mul(d, relu_mask4(z, act));
}

// For every channel j: acc[j] = sum over the n rows of (x - shift); acc[c + j] = sum of (x - shift) * w, where
// w is x - shift itself (statistics: dy = 0 pointer) or dy (the gradient's sums; through the mask of activation
// `act` at (x - shift) * scale + bias, bn_act_grad). shift is per channel (mean) or 0.
static void bn_reduce(const float* x, const float* dy, const float* shift, int n, int c, double* acc, int act,
                      const float* scale, const float* bias) {
  for (int j = 0; j < c; j++) acc[j] = acc[c + j] = 0.0;
  for (int r0 = 0; r0 < n; r0 += BN_BLOCK) {
    int r1 = imin(n, r0 + BN_BLOCK);
    for (int j = 0; j < c; j += 4) {
      int m = imin(4, c - j);
      v128_t s = wasm_f32x4_splat(0.f), q = wasm_f32x4_splat(0.f);
      v128_t mu = shift ? load_part(shift + j, m) : wasm_f32x4_splat(0.f);
      for (int r = r0; r < r1; r++) {
        v128_t v = wasm_f32x4_sub(load_part(x + (long)r * c + j, m), mu);
        if (dy) {
          v128_t d = bn_act_grad(load_part(dy + (long)r * c + j, m), v, act, scale, bias, j, m);
          s = wasm_f32x4_add(s, d);
          q = wasm_f32x4_add(q, wasm_f32x4_mul(d, v));
        } else {
          s = wasm_f32x4_add(s, v);
          q = wasm_f32x4_add(q, wasm_f32x4_mul(v, v));
        }
      }
      float sv[4], qv[4];
      wasm_v128_store(sv, s);
      wasm_v128_store(qv, q);
      for (int k = 0; k < m; k++) {
        acc[j + k] += sv[k];
        acc[c + j + k] += qv[k];
      }
    }
  }
}

// A reduction's unit: its rows reduced by bn_reduce over p->x (with dy, shift and the activation as there) into its
// own totals.
static void bn_unit_sums(conv* p, int unit, const float* dy, const float* shift, int act, const float* scale,
                         const float* bias) {
  int c = p->c, lo, hi;
  unit_range(cdiv(p->n, BN_BLOCK), bn_sums_prepare(p), unit, &lo, &hi);
  int r0 = lo * BN_BLOCK, r1 = imin(p->n, hi * BN_BLOCK);
  long off = (long)r0 * c;
  bn_reduce(p->x + off, dy ? dy + off : 0, shift, r1 - r0, c, bn_totals(p, unit), act, scale, bias);
}

// After every unit: the units' totals added in unit order into unit 0's, which it returns.
static double* bn_sums_total(const conv* p) {
  int units = bn_sums_prepare(p), n2 = 2 * p->c;
  double* acc = bn_totals(p, 0);
  for (int u = 1; u < units; u++) {
    const double* q = bn_totals(p, u);
    for (int j = 0; j < n2; j++) acc[j] += q[j];
  }
  return acc;
}

// OP_BN_STATS: y = [mean | biased variance]. Shifted by the first row (a per-channel guess of the mean), so the sum
// of squares does not cancel.
static KERNEL void bn_stats_run(conv* p, int unit) { bn_unit_sums(p, unit, 0, p->x, ACT_LINEAR, 0, 0); }

static void bn_stats_finish(conv* p) {
  int n = p->n, c = p->c;
  const float* first = p->x;
  double* acc = bn_sums_total(p);
  for (int j = 0; j < c; j++) {
    double d = acc[j] / n;  // mean - first
    double var = acc[c + j] / n - d * d;
    p->y[j] = (float)(first[j] + d);
    p->y[c + j] = (float)(var > 0 ? var : 0);
  }
}

// OP_BN_BWD_SUMS: bias = [sum dy | sum dy * (x - mean) * invStd], f = [mean | invStd], and with act ACT_RELU or
// ACT_RELU6 also [scale | shift] (dy then the gradient of the activation's output: bn_act_grad).
static KERNEL void bn_bwd_sums_run(conv* p, int unit) {
  int c = p->c;
  bn_unit_sums(p, unit, p->y, p->f, p->act, p->f + 2 * c, p->f + 3 * c);
}

static void bn_bwd_sums_finish(conv* p) {
  int c = p->c;
  double* acc = bn_sums_total(p);
  const float* inv = p->f + c;
  for (int j = 0; j < c; j++) {
    p->bias[j] = (float)acc[j];
    p->bias[c + j] = (float)(acc[c + j] * inv[j]);
  }
}

// Units of a pass over n rows of c values: at least `per_unit` values each, at most four per slot.
static int rows_units(const conv* p, int per_unit) {
  int units = imin(p->n, imin(4 * p->slots, imax(1, p->n * p->c / per_unit)));
  return p->slots <= 1 ? 1 : imax(1, units);
}

static int bn_rows_prepare(conv* p) { return rows_units(p, 65536); }

// OP_BN_AFFINE: y = act((x - mean) * scale + shift) per channel, f = [mean | scale | shift] (the mean subtracted
// first, so an input far from zero keeps its precision), act ACT_LINEAR, ACT_RELU or ACT_RELU6.
static KERNEL void bn_affine_run(conv* p, int unit) {
  int c = p->c, lo, hi, act = p->act;
  const float *mean = p->f, *scale = p->f + c, *shift = p->f + 2 * c;
  unit_range(p->n, bn_rows_prepare(p), unit, &lo, &hi);
  for (int r = lo; r < hi; r++) {
    const float* xr = p->x + (long)r * c;
    float* yr = p->y + (long)r * c;
    for (int j = 0; j < c; j += 4) {
      int m = imin(4, c - j);
      v128_t centred = wasm_f32x4_sub(load_part(xr + j, m), load_part(mean + j, m));
      v128_t z = wasm_f32x4_add(wasm_f32x4_mul(centred, load_part(scale + j, m)), load_part(shift + j, m));
      store_part(yr + j, act4(z, act), m);
    }
  }
}

// OP_BN_BWD_INPUT: dx = k1 * (dy - m1 - (x - mean) * k2) per channel, f = [mean | k1 | m1 | k2], and with act
// ACT_RELU or ACT_RELU6 also [scale | shift] (dy then the gradient of the activation's output: bn_act_grad).
static KERNEL void bn_bwd_input_run(conv* p, int unit) {
  int c = p->c, lo, hi, act = p->act;
  const float *mean = p->f, *k1 = p->f + c, *m1 = p->f + 2 * c, *k2 = p->f + 3 * c;
  const float *scale = p->f + 4 * c, *shift = p->f + 5 * c;
  unit_range(p->n, bn_rows_prepare(p), unit, &lo, &hi);
  for (int r = lo; r < hi; r++) {
    const float* xr = p->x + (long)r * c;
    const float* dr = p->y + (long)r * c;
    float* out = p->bias + (long)r * c;
    for (int j = 0; j < c; j += 4) {
      int m = imin(4, c - j);
      v128_t centred = wasm_f32x4_sub(load_part(xr + j, m), load_part(mean + j, m));
      v128_t d = bn_act_grad(load_part(dr + j, m), centred, act, scale, shift, j, m);
      v128_t g = wasm_f32x4_sub(wasm_f32x4_sub(d, load_part(m1 + j, m)), wasm_f32x4_mul(centred, load_part(k2 + j, m)));
      store_part(out + j, wasm_f32x4_mul(g, load_part(k1 + j, m)), m);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training: tanh (LeNet-5's activation) and its gradient, four lanes at a time (tfjs's wasm Tanh calls libm's
// tanhf per element). tanh|x| = -e / (2 + e) with e = expm1(-2|x|), so small |x| keeps its relative precision.
// expm1(y), y in [-18, 0]: y = k ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r is exact to float
// precision), expm1(r) by its Taylor series to r^8 / 8! (the next term is below 2e-10 on that interval), and
// expm1(y) = 2^k expm1(r) + (2^k - 1), exact for k = 0. |x| >= 9 gives tanh = 1 to float precision.

static inline v128_t tanh4(v128_t x) {
  v128_t ax = wasm_f32x4_min(wasm_f32x4_abs(x), wasm_f32x4_splat(9.f));
  v128_t y = wasm_f32x4_mul(ax, wasm_f32x4_splat(-2.f));
  v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(y, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(y, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(k, wasm_f32x4_splat(1.428606765330187e-06f)));
  v128_t p = wasm_f32x4_splat(1.f / 40320.f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 5040.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 720.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 120.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 24.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 6.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f));
  p = wasm_f32x4_mul(p, r);  // expm1(r)
  v128_t two_k = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
  v128_t e = wasm_f32x4_add(wasm_f32x4_mul(two_k, p), wasm_f32x4_sub(two_k, wasm_f32x4_splat(1.f)));
  v128_t t = wasm_f32x4_abs(wasm_f32x4_div(e, wasm_f32x4_add(e, wasm_f32x4_splat(2.f))));
  // The sign of x back on (tanh is odd); NaN stays NaN through the arithmetic above.
  v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000));
  return wasm_v128_or(t, sign);
}

// tanh costs about twenty vector operations per four values, several times a streaming pass: 16K values at least
// per unit (LeNet-5's [64, 10, 10, 16] splits, where 64K would not). Its gradient is a streaming pass: 64K per unit,
// once runConvKernel hands it the pool (from THREAD_MIN_WORK values: module.ts).
static int tanh_prepare(conv* p, int grad) { return rows_units(p, grad ? 65536 : 16384); }

static KERNEL void tanh_run(conv* p, int unit, int grad) {
  int ilo, ihi;
  unit_range(p->n, tanh_prepare(p, grad), unit, &ilo, &ihi);
  long lo = (long)ilo * p->c, hi = (long)ihi * p->c;
  const float* x = p->x;
  long i = lo;
  if (!grad) {
    for (; i + 4 <= hi; i += 4) wasm_v128_store(p->y + i, tanh4(wasm_v128_load(x + i)));
    if (i < hi) store_part(p->y + i, tanh4(load_part(x + i, (int)(hi - i))), (int)(hi - i));
    return;
  }
  const float* dy = p->y;
  float* out = p->bias;
  v128_t one = wasm_f32x4_splat(1.f);
  for (; i + 4 <= hi; i += 4) {
    v128_t t = wasm_v128_load(x + i);
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), wasm_f32x4_sub(one, wasm_f32x4_mul(t, t))));
  }
  if (i < hi) {
    int m = (int)(hi - i);
    v128_t t = load_part(x + i, m);
    store_part(out + i, wasm_f32x4_mul(load_part(dy + i, m), wasm_f32x4_sub(one, wasm_f32x4_mul(t, t))), m);
  }
}

// ---------------------------------------------------------------------------------------------
// Training: the gradient of ReLU and ReLU6 from the forward input x, in one pass: dx = dy * m with m = step(x) (ReLU)
// or (x <= 6) * step(x) (ReLU6), step(x) = x > 0 ? 1 : 0 and NaN for a NaN x, the mask and the product exactly as
// tfjs's gradients compute them with three to five ops (Step, LessEqual, Multiply, Cast, Multiply), so the values
// are the same bit for bit (a zero mask times a negative dy is -0, times an infinite dy NaN).

static KERNEL void relu_grad_run(conv* p, int unit) {
  int ilo, ihi;
  unit_range(p->n, bn_rows_prepare(p), unit, &ilo, &ihi);
  long lo = (long)ilo * p->c, hi = (long)ihi * p->c;
  const float* x = p->x;
  const float* dy = p->y;
  float* out = p->bias;
  int act = p->act;
  for (long i = lo; i < hi; i += 4) {
    int m = hi - i >= 4 ? 4 : (int)(hi - i);
    store_part(out + i, wasm_f32x4_mul(load_part(dy + i, m), relu_mask4(load_part(x + i, m), act)), m);
  }
}

// ---------------------------------------------------------------------------------------------
// Training: torch.optim.SGD's update for every parameter of a step in one call (issue 15). Each record is
// SGD_WORDS 4-byte words: param, grad, momentum buffer (0 on the first step: the buffer starts as the update
// direction), new param, new buffer (0 without momentum), the parameter's length, then lr and weight decay as
// float bits and the flags (SGD_ enum). Every result is a new tensor (nothing is updated in place), and each value is
// the same float32 expression, in the same order, as the tfjs ops of @cnn/train's SGD.update, so both paths agree
// bit for bit:  d = g + p * wd;  buf = buf * m + d * (1 - dampening);  d = nesterov ? d + buf * m : buf;
// p = p - d * lr.

enum { SGD_WORDS = 9 };
enum { SGD_DECAY = 1, SGD_DAMPEN = 2, SGD_NESTEROV = 4 };

static inline v128_t sgd4(v128_t p, v128_t g, v128_t b, float* nb, int first, int flags, v128_t m, v128_t keep,
                          v128_t lr, v128_t wd, int momentum, int cnt) {
  v128_t d = g;
  if (flags & SGD_DECAY) d = wasm_f32x4_add(g, wasm_f32x4_mul(p, wd));
  if (momentum) {
    if (first) b = d;
    else b = wasm_f32x4_add(wasm_f32x4_mul(b, m), (flags & SGD_DAMPEN) ? wasm_f32x4_mul(d, keep) : d);
    store_part(nb, b, cnt);
    d = (flags & SGD_NESTEROV) ? wasm_f32x4_add(d, wasm_f32x4_mul(b, m)) : b;
  }
  return wasm_f32x4_sub(p, wasm_f32x4_mul(d, lr));
}

static KERNEL void sgd_run(conv* p) {
  const int* rec = (const int*)p->x;
  float momentum = p->f[0];
  v128_t m = wasm_f32x4_splat(momentum), keep = wasm_f32x4_splat(p->f[1]);
  for (int k = 0; k < p->n; k++, rec += SGD_WORDS) {
    const float *w = (const float*)rec[0], *g = (const float*)rec[1], *buf = (const float*)rec[2];
    float *nw = (float*)rec[3], *nb = (float*)rec[4];
    int len = rec[5], flags = rec[8], first = buf == 0, use = momentum != 0.f && nb != 0;
    v128_t lr = wasm_f32x4_splat(((const float*)rec)[6]), wd = wasm_f32x4_splat(((const float*)rec)[7]);
    for (int i = 0; i < len; i += 4) {
      int cnt = imin(4, len - i);
      v128_t b = first || !use ? wasm_f32x4_splat(0.f) : load_part(buf + i, cnt);
      v128_t out = sgd4(load_part(w + i, cnt), load_part(g + i, cnt), b, use ? nb + i : 0, first, flags, m, keep, lr,
                        wd, use, cnt);
      store_part(nw + i, out, cnt);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training: torch.optim.Adam / AdamW's update for every parameter of a step in one call. A record is ADAM_WORDS
// words: param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq (0: zeros, their first step; the last also 0 without
// AMSGrad), the new param and the three new buffers (the last 0 without AMSGrad), the length, the flags (ADAM_
// enum), then as float bits the weight-decay factor (L2: wd; decoupled: 1 - lr wd), lr / (1 - b1^t) and
// sqrt(1 - b2^t). The float32 expressions are @cnn/train's AdamBase.update, in its order:
//   g = g + p wd (L2) or p = p (1 - lr wd) (decoupled);  m = m b1 + g (1 - b1);  v = v b2 + (g (1 - b2)) g;
//   v^ = max(v^, v) (AMSGrad);  p = p - (m / (sqrt(v) / sqrt(1 - b2^t) + eps)) (lr / (1 - b1^t)).

enum { ADAM_WORDS = 16 };
enum { ADAM_L2 = 1, ADAM_DECOUPLED = 2, ADAM_AMSGRAD = 4 };

static KERNEL void adam_run(conv* p) {
  const int* rec = (const int*)p->x;
  v128_t b1 = wasm_f32x4_splat(p->f[0]), c1 = wasm_f32x4_splat(p->f[1]);
  v128_t b2 = wasm_f32x4_splat(p->f[2]), c2 = wasm_f32x4_splat(p->f[3]), eps = wasm_f32x4_splat(p->f[4]);
  v128_t z = wasm_f32x4_splat(0.f);
  for (int k = 0; k < p->n; k++, rec += ADAM_WORDS) {
    const float *w = (const float*)rec[0], *g = (const float*)rec[1], *m = (const float*)rec[2];
    const float *v = (const float*)rec[3], *vm = (const float*)rec[4];
    float *nw = (float*)rec[5], *nm = (float*)rec[6], *nv = (float*)rec[7], *nvm = (float*)rec[8];
    int len = rec[9], flags = rec[10];
    const float* fl = (const float*)rec;
    v128_t wd = wasm_f32x4_splat(fl[11]), step = wasm_f32x4_splat(fl[12]), bc2 = wasm_f32x4_splat(fl[13]);
    for (int i = 0; i < len; i += 4) {
      int cnt = imin(4, len - i);
      v128_t pw = load_part(w + i, cnt), gr = load_part(g + i, cnt);
      v128_t param = pw;
      if (flags & ADAM_DECOUPLED) param = wasm_f32x4_mul(pw, wd);
      if (flags & ADAM_L2) gr = wasm_f32x4_add(gr, wasm_f32x4_mul(pw, wd));
      v128_t mo = m ? load_part(m + i, cnt) : z, vo = v ? load_part(v + i, cnt) : z;
      v128_t mn = wasm_f32x4_add(wasm_f32x4_mul(mo, b1), wasm_f32x4_mul(gr, c1));
      v128_t vn = wasm_f32x4_add(wasm_f32x4_mul(vo, b2), wasm_f32x4_mul(wasm_f32x4_mul(gr, c2), gr));
      store_part(nm + i, mn, cnt);
      store_part(nv + i, vn, cnt);
      v128_t second = vn;
      if (flags & ADAM_AMSGRAD) {
        second = wasm_f32x4_max(vm ? load_part(vm + i, cnt) : z, vn);
        store_part(nvm + i, second, cnt);
      }
      v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(second), bc2), eps);
      store_part(nw + i, wasm_f32x4_sub(param, wasm_f32x4_mul(wasm_f32x4_div(mn, denom), step)), cnt);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training: a convolution's input patches, transposed (issue 15): y[(tap, ci), m] = x at output pixel m's input
// position for that tap (0 in the padding), so that the filter gradient of a layer with few input channels is one
// matrix product y . dy (tfjs's matMul, XNNPACK), where the rgemm tiles above would run at a quarter of their
// width (LeNet-5's first layer: one input channel). Units: ranges of the kh * kw * c rows; each value is a copy.

static int patches_prepare(conv* p) { return split_units(p->kh * p->kw * p->c, p->slots, 2); }

static KERNEL void patches_run(conv* p, int unit) {
  int c = p->c, krows = p->kh * p->kw * c, lo, hi;
  long mtotal = (long)p->n * p->oh * p->ow;
  unit_range(krows, patches_prepare(p), unit, &lo, &hi);
  for (int k = lo; k < hi; k++) {
    int t = k / c, ci = k % c, ky = (t / p->kw) * p->dh, kx = (t % p->kw) * p->dw;
    float* out = p->y + (long)k * mtotal;
    for (int n = 0; n < p->n; n++) {
      const float* xn = p->x + (long)n * p->h * p->w * c + ci;
      for (int oy = 0; oy < p->oh; oy++) {
        int ih = oy * p->sh - p->pt + ky;
        if (ih < 0 || ih >= p->h) {
          fill_zero(out, p->ow);
          out += p->ow;
          continue;
        }
        const float* xr = xn + (long)ih * p->w * c;
        if (c == 1 && p->sw == 1) {
          // One input channel at stride 1: a row of the patches is a contiguous run of the input row between zeros.
          int lo = imin(p->ow, imax(0, p->pl - kx)), hi = imax(lo, imin(p->ow, p->w + p->pl - kx));
          const float* src = xr + (lo - p->pl + kx);
          fill_zero(out, lo);
          int ox = lo;
          for (; ox + 4 <= hi; ox += 4) wasm_v128_store(out + ox, wasm_v128_load(src + (ox - lo)));
          for (; ox < hi; ox++) out[ox] = src[ox - lo];
          fill_zero(out + hi, p->ow - hi);
          out += p->ow;
          continue;
        }
        for (int ox = 0; ox < p->ow; ox++) {
          int iw = ox * p->sw - p->pl + kx;
          *out++ = iw >= 0 && iw < p->w ? xr[(long)iw * c] : 0.f;
        }
      }
    }
  }
}

// Two-group channel shuffle of a concatenation (ShuffleNet's units): row r of y (2c floats) interleaves the first
// c floats of row r of x (rows of h >= c floats: x may be a wider tensor whose first half is taken) with row r of
// f (c floats): y[r][2j] = x[r][j], y[r][2j + 1] = f[r][j]. One pass instead of a concat, then a transpose.
// Units: ranges of rows, SHUFFLE_UNIT_FLOATS output floats at least each. The pass only moves memory, and below that
// a second thread's wake-up cost more than it saved: ShuffleNetV2 1.0x at batch 1 on two threads, its 14x14 shuffles
// (45 K floats) took 0.05-0.06 ms split in two against 0.03 ms on one thread, and the slices after them ran slower
// beside the spinning worker (session 12, with 16 K floats per unit).

enum { SHUFFLE_UNIT_FLOATS = 1 << 18 };

// Each row writes 2 * c floats: rows of c values, half a unit's floats each.
static int shuffle2_prepare(conv* p) { return rows_units(p, SHUFFLE_UNIT_FLOATS / 2); }

static KERNEL void shuffle2_run(conv* p, int unit) {
  int lo, hi, c = p->c;
  unit_range(p->n, shuffle2_prepare(p), unit, &lo, &hi);
  for (int r = lo; r < hi; r++) {
    const float* a = p->x + (long)r * p->h;
    const float* b = p->f + (long)r * c;
    float* y = p->y + (long)r * 2 * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t va = wasm_v128_load(a + j), vb = wasm_v128_load(b + j);
      wasm_v128_store(y + 2 * j, wasm_i32x4_shuffle(va, vb, 0, 4, 1, 5));
      wasm_v128_store(y + 2 * j + 4, wasm_i32x4_shuffle(va, vb, 2, 6, 3, 7));
    }
    for (; j < c; j++) {
      y[2 * j] = a[j];
      y[2 * j + 1] = b[j];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training: average pooling's input gradient (issue 15; tfjs's wasm kernel is scalar). x is the output gradient dy
// (n, oh, ow, c), y the input gradient dx (n, h, w, c); kh, kw, sh, sw, pt, pl describe the window (no dilation).
// Each dx pixel gathers the dy of every window that covers it, in scan order, times 1 / (kh * kw) (tfjs's
// AvgPoolGrad, whose divisor is the whole window). Units: ranges of input rows (n * h); each value is written once.

// Shared scratch: the windows [lo, hi) that cover each input column, computed once in prepare.
static int avgpool_bwd_shared(const conv* p) { return 2 * p->w * 4; }

// The windows (along one axis) that cover input position i: [*lo, *hi), o * s - pad <= i < o * s - pad + k.
static void covering(int i, int k, int s, int pad, int outs, int* lo, int* hi) {
  int a = i + pad;
  *lo = a < k ? 0 : (a - k) / s + 1;
  *hi = imin(outs, a / s + 1);
}

static int avgpool_bwd_prepare(conv* p) {
  int* cols = (int*)p->scratch;
  for (int iw = 0; iw < p->w; iw++) covering(iw, p->kw, p->sw, p->pl, p->ow, cols + 2 * iw, cols + 2 * iw + 1);
  return split_units(p->n * p->h, p->slots, 4);
}

// o[0..c) = s[0..c) * k (add = 0) or o[0..c) += s[0..c) (add = 1; k unused).
static inline void avg_row(float* o, const float* s, int c, float k, int add) {
  int j = 0;
  v128_t kv = wasm_f32x4_splat(k);
  if (add)
    for (; j + 4 <= c; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(o + j), wasm_v128_load(s + j)));
  else
    for (; j + 4 <= c; j += 4) wasm_v128_store(o + j, wasm_f32x4_mul(wasm_v128_load(s + j), kv));
  if (!add && j < c && c >= 4 && s != o) {
    // The last four values again, overlapping: the same products, so no scalar tail (LeNet-5's 6 channels).
    wasm_v128_store(o + c - 4, wasm_f32x4_mul(wasm_v128_load(s + c - 4), kv));
    return;
  }
  for (; j < c; j++) o[j] = add ? o[j] + s[j] : s[j] * k;
}

static KERNEL void avgpool_bwd_run(conv* p, int unit) {
  int c = p->c, lo, hi;
  const int* cols = (const int*)p->scratch;
  unit_range(p->n * p->h, split_units(p->n * p->h, p->slots, 4), unit, &lo, &hi);
  float scale = 1.f / (float)(p->kh * p->kw);
  for (int row = lo; row < hi; row++) {
    int n = row / p->h, ih = row % p->h, ylo, yhi;
    covering(ih, p->kh, p->sh, p->pt, p->oh, &ylo, &yhi);
    float* out = p->y + (long)row * p->w * c;
    const float* dyn = p->x + (long)n * p->oh * p->ow * c;
    for (int iw = 0; iw < p->w; iw++) {
      int xlo = cols[2 * iw], xhi = cols[2 * iw + 1];
      float* o = out + (long)iw * c;
      int windows = (yhi - ylo) * (xhi - xlo);
      if (windows <= 0) {
        fill_zero(o, c);
      } else if (windows == 1) {
        avg_row(o, dyn + ((long)ylo * p->ow + xlo) * c, c, scale, 0);  // non-overlapping windows: one each
      } else {
        // The sum in scan order, then the divisor.
        avg_row(o, dyn + ((long)ylo * p->ow + xlo) * c, c, 1.f, 0);
        for (int oy = ylo; oy < yhi; oy++)
          for (int ox = oy == ylo ? xlo + 1 : xlo; ox < xhi; ox++)
            avg_row(o, dyn + ((long)oy * p->ow + ox) * c, c, 0.f, 1);
        avg_row(o, o, c, scale, 0);
      }
    }
  }
}

// OP_COLUMN_SUM: the gradient of a bias added along the last axis, y[j] = sum of x[r][j] over the n rows, with
// BatchNorm's reduction (float32 blocks into double totals, split by rows: the same result whatever the thread
// count).
static KERNEL void column_sum_run(conv* p, int unit) { bn_unit_sums(p, unit, p->x, 0, ACT_LINEAR, 0, 0); }

static void column_sum_finish(conv* p) {
  double* acc = bn_sums_total(p);
  for (int j = 0; j < p->c; j++) p->y[j] = (float)acc[j];
}

// OP_TRANSPOSE: the operand of a transposed matrix product (tfjs's wasm BatchMatMul multiplies transposed
// operands in a plain loop, 10-20 times slower than XNNPACK's packed one). Tiles of TT x TT stay in L1 cache.
// Units: ranges of (matrix, tile row) pairs; each value is a copy.
enum { TT = 32 };

static int transpose_prepare(conv* p) { return split_units(p->n * cdiv(p->h, TT), p->slots, 4); }

static KERNEL void transpose_run(conv* p, int unit) {
  int h = p->h, w = p->w, tiles = cdiv(h, TT), lo, hi;
  unit_range(p->n * tiles, transpose_prepare(p), unit, &lo, &hi);
  for (int item = lo; item < hi; item++) {
    int b = item / tiles, r0 = (item % tiles) * TT, r1 = imin(h, r0 + TT);
    const float* x = p->x + (long)b * h * w;
    float* y = p->y + (long)b * h * w;
    for (int c0 = 0; c0 < w; c0 += TT) {
      int c1 = imin(w, c0 + TT);
      for (int c = c0; c < c1; c++)
        for (int r = r0; r < r1; r++) y[(long)c * h + r] = x[(long)r * w + c];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training: the filter gradient of a stride-1, undilated convolution with one input channel (LeNet-5's and any
// grayscale network's first layer), df[ky][kx][j] = sum over pixels of x(oy + ky - pt, ox + kx - pl) * dy(oy, ox, j).
// prepare copies x into a zero-padded plane per image (rows of WP floats: the padding needs no test) and dy into one
// plane per output channel (rows of OW4 = ow rounded up to 4, zero-filled), so that the sum runs four output columns
// at a time with contiguous loads: for one kernel row ky and two output channels, all kw taps at once (kw = 3 or 5:
// 2 kw accumulators in registers, each x load used twice and each dy load kw times). Per image, the vector sums are
// added into double totals in a fixed order. Units: (kernel row, pair of output channels), each computing its taps
// over every pixel, so the result does not depend on the thread count.

static int c1_ow4(const conv* p) { return (p->ow + 3) & ~3; }
static int c1_wp(const conv* p) { return (c1_ow4(p) + p->kw - 1 + 3) & ~3; }
static int c1_hp(const conv* p) { return p->oh + p->kh - 1; }
static int filter_c1_shared(const conv* p) {
  return (p->n * c1_hp(p) * c1_wp(p) + p->co * p->n * p->oh * c1_ow4(p)) * 4;
}

static int filter_c1_prepare(conv* p) {
  int hp = c1_hp(p), wp = c1_wp(p), ow4 = c1_ow4(p);
  float* xp = p->scratch;
  float* dt = xp + (long)p->n * hp * wp;
  for (int n = 0; n < p->n; n++)
    for (int r = 0; r < hp; r++) {
      float* row = xp + ((long)n * hp + r) * wp;
      int ih = r - p->pt;
      if (ih < 0 || ih >= p->h) {
        fill_zero(row, wp);
        continue;
      }
      const float* xr = p->x + ((long)n * p->h + ih) * p->w;
      for (int col = 0; col < wp; col++) {
        int iw = col - p->pl;
        row[col] = iw >= 0 && iw < p->w ? xr[iw] : 0.f;
      }
    }
  long plane = (long)p->n * p->oh * ow4;
  for (int n = 0; n < p->n; n++)
    for (int oy = 0; oy < p->oh; oy++) {
      const float* dr = p->y + ((long)n * p->oh + oy) * p->ow * p->co;
      float* base = dt + ((long)n * p->oh + oy) * ow4;
      for (int j = 0; j < p->co; j++) {
        float* t = base + j * plane;
        for (int ox = 0; ox < p->ow; ox++) t[ox] = dr[(long)ox * p->co + j];
        for (int ox = p->ow; ox < ow4; ox++) t[ox] = 0.f;
      }
    }
  fill_zero(p->f, p->kh * p->kw * p->co);
  return p->kh * cdiv(p->co, 2);
}

static inline float hsum4(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

// Taps kx0 .. kx0 + KW - 1 of kernel row ky, output channels j0 and j0 + 1 (when two > 0). KW is a constant at
// every call, so the accumulators stay in registers.
static inline __attribute__((always_inline)) void c1_taps(conv* p, int ky, int kx0, const int KW, int j0, int two) {
  int hp = c1_hp(p), wp = c1_wp(p), ow4 = c1_ow4(p);
  const float* xp = p->scratch;
  long plane = (long)p->n * p->oh * ow4;
  const float* d0base = xp + (long)p->n * hp * wp + j0 * plane;
  const float* d1base = two ? d0base + plane : d0base;
  double t0[7], t1[7];
  for (int k = 0; k < KW; k++) t0[k] = t1[k] = 0.0;
  for (int n = 0; n < p->n; n++) {
    v128_t a0[7], a1[7];
    for (int k = 0; k < KW; k++) a0[k] = a1[k] = wasm_f32x4_splat(0.f);
    for (int oy = 0; oy < p->oh; oy++) {
      const float* xr = xp + ((long)n * hp + oy + ky) * wp + kx0;
      const float* d0 = d0base + ((long)n * p->oh + oy) * ow4;
      const float* d1 = d1base + ((long)n * p->oh + oy) * ow4;
      for (int ox = 0; ox < ow4; ox += 4) {
        v128_t v0 = wasm_v128_load(d0 + ox), v1 = wasm_v128_load(d1 + ox);
        for (int k = 0; k < KW; k++) {
          v128_t xv = wasm_v128_load(xr + ox + k);
          a0[k] = wasm_f32x4_add(a0[k], wasm_f32x4_mul(xv, v0));
          a1[k] = wasm_f32x4_add(a1[k], wasm_f32x4_mul(xv, v1));
        }
      }
    }
    for (int k = 0; k < KW; k++) {
      t0[k] += hsum4(a0[k]);
      t1[k] += hsum4(a1[k]);
    }
  }
  for (int k = 0; k < KW; k++) {
    float* out = p->f + (long)(ky * p->kw + kx0 + k) * p->co + j0;
    out[0] = (float)t0[k];
    if (two) out[1] = (float)t1[k];
  }
}

static KERNEL void filter_c1_run(conv* p, int unit) {
  int pairs = cdiv(p->co, 2), ky = unit / pairs, j0 = (unit % pairs) * 2, two = j0 + 1 < p->co;
  if (p->kw == 5) c1_taps(p, ky, 0, 5, j0, two);
  else if (p->kw == 3) c1_taps(p, ky, 0, 3, j0, two);
  else
    for (int kx = 0; kx < p->kw; kx++) c1_taps(p, ky, kx, 1, j0, two);
}

// ---------------------------------------------------------------------------------------------
// Inference: a squeeze-and-excitation block with a hard-sigmoid gate (MobileNetV3's), whole, in one call instead
// of a mean, two 1x1 convolutions on one pixel, a clamp and a multiply (five dispatches, three of them on tfjs's
// thread pool). x is n images of h pixels of c channels; f points to four words, the addresses of W1 [c][co],
// b1 [co], W2 [co][c] and b2 [c] (the 1x1 convolutions' HWIO filters and biases, co the squeeze width). Per image:
//   m = mean of x over its pixels;  s = relu(m W1 + b1);  g = relu6(s W2 + b2 + 3) * (1 / 6);  y = x * g.
// Per slot: m, s and g. Units: ranges of whole images (an image's values never depend on the split).

static int se_slot(const conv* p) { return (2 * (((p->c + 3) & ~3) + 4) + p->co + 4) * 4; }

static int se_prepare(conv* p) {
  // 64K floats of x at least per unit (as OP_ELTWISE): below that, waking a thread costs more than the work.
  long floats = (long)p->n * p->h * p->c;
  int units = imin(p->n, imin(4 * p->slots, (int)(floats / 65536)));
  return p->slots <= 1 ? 1 : imax(1, units);
}

// y[0..n) = act(b[0..n) + sum over k < depth of v[k] * w[k][0..n)), act 0: none, 1: ReLU, 2: hard-sigmoid.
static void se_matvec(const float* v, int depth, const float* w, const float* b, float* y, int n, int act) {
  v128_t z = wasm_f32x4_splat(0.f), six = wasm_f32x4_splat(6.f), three = wasm_f32x4_splat(3.f);
  v128_t sixth = wasm_f32x4_splat(1.f / 6.f);
  for (int j = 0; j < n; j += 8) {
    int n0 = imin(4, n - j), n1 = imax(0, imin(4, n - j - 4));
    v128_t a0 = load_part(b + j, n0), a1 = n1 ? load_part(b + j + 4, n1) : z;
    for (int k = 0; k < depth; k++) {
      const float* wk = w + (long)k * n + j;
      v128_t vk = wasm_f32x4_splat(v[k]);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(vk, load_part(wk, n0)));
      if (n1) a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(vk, load_part(wk + 4, n1)));
    }
    if (act == 1) a0 = wasm_f32x4_max(a0, z), a1 = wasm_f32x4_max(a1, z);
    if (act == 2) {
      a0 = wasm_f32x4_mul(wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_add(a0, three), z), six), sixth);
      a1 = wasm_f32x4_mul(wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_add(a1, three), z), six), sixth);
    }
    store_part(y + j, a0, n0);
    if (n1) store_part(y + j + 4, a1, n1);
  }
}

static KERNEL void se_gate_run(conv* p, int unit, int slot) {
  const int* tab = (const int*)p->f;
  const float *w1 = (const float*)tab[0], *b1 = (const float*)tab[1];
  const float *w2 = (const float*)tab[2], *b2 = (const float*)tab[3];
  int c = p->c, px = p->h, lo, hi;
  float* m = (float*)slot_scratch(p, 0, se_slot(p), slot);
  float* g = m + ((c + 3) & ~3) + 4;
  float* s = g + ((c + 3) & ~3) + 4;
  v128_t inv = wasm_f32x4_splat(1.f / (float)px);
  unit_range(p->n, se_prepare(p), unit, &lo, &hi);
  for (int img = lo; img < hi; img++) {
    const float* x = p->x + (long)img * px * c;
    float* y = p->y + (long)img * px * c;
    fill_zero(m, c);
    for (int q = 0; q < px; q++) {
      const float* xr = x + (long)q * c;
      for (int j = 0; j < c; j += 4) {
        int nc = imin(4, c - j);
        store_part(m + j, wasm_f32x4_add(load_part(m + j, nc), load_part(xr + j, nc)), nc);
      }
    }
    for (int j = 0; j < c; j += 4) {
      int nc = imin(4, c - j);
      store_part(m + j, wasm_f32x4_mul(load_part(m + j, nc), inv), nc);
    }
    se_matvec(m, c, w1, b1, s, p->co, 1);
    se_matvec(s, p->co, w2, b2, g, c, 2);
    for (int q = 0; q < px; q++) {
      const float* xr = x + (long)q * c;
      float* yr = y + (long)q * c;
      int j = 0;
      for (; j + 4 <= c; j += 4) wasm_v128_store(yr + j, wasm_f32x4_mul(wasm_v128_load(xr + j), wasm_v128_load(g + j)));
      if (j < c) store_part(yr + j, wasm_f32x4_mul(load_part(xr + j, c - j), load_part(g + j, c - j)), c - j);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward convolution on a filter packed once. OP_CONV_PACK runs OP_CONV_FWD's set-up alone: it packs f into
// p->scratch (scratch_bytes(OP_CONV_FWD, p) bytes for p->slots slots) with the zero row after it, and returns no
// units. The caller keeps that block for as long as f's values do not change; OP_CONV_FWD_PACKED then runs
// OP_CONV_FWD's units with the block as its scratch (each slot's pointer table is written in the block's slot
// part; the packed filter and the zero row are only read), for no more slots than the block was packed for. The
// results are OP_CONV_FWD's, bit for bit: the same units on the same packed values.

static int conv_pack_prepare(conv* p) {
  conv_fwd_prepare(p);
  return 0;
}

static int conv_fwd_packed_prepare(conv* p) {
  int mtotal = p->n * p->oh * p->ow;
  return cdiv(mtotal, block_rows(mtotal, p->slots));
}

// ---------------------------------------------------------------------------------------------
// Max pooling, forward (dilation 1): y[n][oy][ox][:] = the largest x[n][iy][ix][:] over the window's taps that fall
// inside the input (padding counts as -infinity, so a padded max pool needs no padded copy of its input). Per output
// pixel, the addresses of its taps inside the input are listed in the slot's scratch (at most MAXPOOL_TAPS; larger
// windows are combined a list at a time); then 16 channels at a time in registers (then 4, then one) start at
// -infinity and take f32x4.pmax (`m < v ? v : m`, one instruction) with each tap. A NaN propagates, as in PyTorch: pmax
// keeps a NaN it already holds but never takes one, so a running sum of the taps beside it tells which blocks may
// hold a NaN, those are tested tap by tap (maxpool_nan_lanes), and the lanes that met a NaN end NaN. (tfjs's cpu kernel
// lets a NaN lose to any number; its wasm kernel, XNNPACK's, gave -infinity for a window whose first tap is NaN and
// the largest number otherwise.) A window with no tap inside the input gives -infinity. Units: ranges of output rows.

enum { MAXPOOL_TAPS = 64 };

static int maxpool_fwd_prepare(conv* p) { return split_units(p->n * p->oh, p->slots, 4); }

// Lanes of channels [j, j + 4) where a tap holds a NaN (the exact test, for a block whose running sum went NaN).
static v128_t maxpool_nan_lanes(const float** t, int nt, int j) {
  v128_t n = wasm_i32x4_splat(0);
  for (int q = 0; q < nt; q++) {
    v128_t v = wasm_v128_load(t[q] + j);
    n = wasm_v128_or(n, wasm_f32x4_ne(v, v));
  }
  return n;
}

// out[0..c) = max(out, rows listed in t[0..nt)) if more, else max over the list alone; NaN propagates. Beside each
// pmax chain runs a sum of the same taps (one more instruction per tap, where testing each tap took two): a NaN tap
// makes it NaN, and so may +infinity with -infinity, so a block whose sum went NaN is tested exactly.
static void maxpool_taps(float* out, const float** t, int nt, int c, int more) {
  v128_t ninf = wasm_f32x4_splat(-__builtin_inff()), nan = wasm_f32x4_splat(__builtin_nanf("")), zero = wasm_f32x4_splat(0);
  int j = 0;
  for (; j + 16 <= c; j += 16) {
    v128_t m0 = more ? wasm_v128_load(out + j) : ninf, m1 = more ? wasm_v128_load(out + j + 4) : ninf;
    v128_t m2 = more ? wasm_v128_load(out + j + 8) : ninf, m3 = more ? wasm_v128_load(out + j + 12) : ninf;
    v128_t s0 = zero, s1 = zero, s2 = zero, s3 = zero;
    for (int q = 0; q < nt; q++) {
      const float* s = t[q] + j;
      v128_t v0 = wasm_v128_load(s), v1 = wasm_v128_load(s + 4), v2 = wasm_v128_load(s + 8), v3 = wasm_v128_load(s + 12);
      m0 = wasm_f32x4_pmax(m0, v0);
      m1 = wasm_f32x4_pmax(m1, v1);
      m2 = wasm_f32x4_pmax(m2, v2);
      m3 = wasm_f32x4_pmax(m3, v3);
      s0 = wasm_f32x4_add(s0, v0);
      s1 = wasm_f32x4_add(s1, v1);
      s2 = wasm_f32x4_add(s2, v2);
      s3 = wasm_f32x4_add(s3, v3);
    }
    v128_t any = wasm_v128_or(wasm_v128_or(wasm_f32x4_ne(s0, s0), wasm_f32x4_ne(s1, s1)),
                              wasm_v128_or(wasm_f32x4_ne(s2, s2), wasm_f32x4_ne(s3, s3)));
    if (wasm_v128_any_true(any)) {
      m0 = wasm_v128_bitselect(nan, m0, maxpool_nan_lanes(t, nt, j));
      m1 = wasm_v128_bitselect(nan, m1, maxpool_nan_lanes(t, nt, j + 4));
      m2 = wasm_v128_bitselect(nan, m2, maxpool_nan_lanes(t, nt, j + 8));
      m3 = wasm_v128_bitselect(nan, m3, maxpool_nan_lanes(t, nt, j + 12));
    }
    wasm_v128_store(out + j, m0);
    wasm_v128_store(out + j + 4, m1);
    wasm_v128_store(out + j + 8, m2);
    wasm_v128_store(out + j + 12, m3);
  }
  for (; j + 4 <= c; j += 4) {
    v128_t m0 = more ? wasm_v128_load(out + j) : ninf, s0 = zero;
    for (int q = 0; q < nt; q++) {
      v128_t v = wasm_v128_load(t[q] + j);
      m0 = wasm_f32x4_pmax(m0, v);
      s0 = wasm_f32x4_add(s0, v);
    }
    if (wasm_v128_any_true(wasm_f32x4_ne(s0, s0))) m0 = wasm_v128_bitselect(nan, m0, maxpool_nan_lanes(t, nt, j));
    wasm_v128_store(out + j, m0);
  }
  for (; j < c; j++) {
    float m = more ? out[j] : -__builtin_inff();
    int isnan = 0;
    for (int q = 0; q < nt; q++) {
      float v = t[q][j];
      m = m < v ? v : m;
      isnan |= v != v;
    }
    out[j] = isnan ? __builtin_nanf("") : m;
  }
}

static void maxpool_fwd_run(conv* p, int unit, int slot) {
  int c = p->c, w = p->w, total = p->n * p->oh, lo, hi;
  const float** t = (const float**)slot_scratch(p, 0, MAXPOOL_TAPS * 4, slot);
  unit_range(total, split_units(total, p->slots, 4), unit, &lo, &hi);
  for (int r = lo; r < hi; r++) {
    int n = r / p->oh, y0 = (r % p->oh) * p->sh - p->pt;
    int i0 = imax(0, -y0), i1 = imin(p->kh, p->h - y0);
    for (int ox = 0; ox < p->ow; ox++) {
      int x0 = ox * p->sw - p->pl;
      int k0 = imax(0, -x0), k1 = imin(p->kw, w - x0);
      float* out = p->y + ((long)r * p->ow + ox) * c;
      int nt = 0, more = 0;
      for (int i = i0; i < i1; i++)
        for (int k = k0; k < k1; k++) {
          t[nt++] = p->x + (((long)n * p->h + y0 + i) * w + x0 + k) * c;
          if (nt == MAXPOOL_TAPS) {
            maxpool_taps(out, t, nt, c, more);
            nt = 0;
            more = 1;
          }
        }
      if (nt || !more) maxpool_taps(out, t, nt, c, more);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One input of a concatenation along the last axis (issue 14): y[r][pl + j] = x[r][j] for r < n rows of c floats,
// the rows of y co floats long; the caller runs it once per input. tfjs's wasm Concat copies each row of each input
// with a typed-array `set` from JavaScript, one view per row (GoogLeNet's inception outputs took 0.85-1.0 ms a forward
// at batch 1). The copy moves bits (a NaN's payload too). Units: ranges of rows, SHUFFLE_UNIT_FLOATS floats at least
// each, as the shuffle's: the pass only moves memory.

static int copy_cols_prepare(conv* p) { return rows_units(p, SHUFFLE_UNIT_FLOATS); }

static KERNEL void copy_cols_run(conv* p, int unit) {
  int lo, hi, c = p->c;
  unit_range(p->n, copy_cols_prepare(p), unit, &lo, &hi);
  for (int r = lo; r < hi; r++) {
    const float* x = p->x + (long)r * c;
    float* y = p->y + (long)r * p->co + p->pl;
    int j = 0;
    for (; j + 16 <= c; j += 16) {
      v128_t a = wasm_v128_load(x + j), b = wasm_v128_load(x + j + 4);
      v128_t d = wasm_v128_load(x + j + 8), e = wasm_v128_load(x + j + 12);
      wasm_v128_store(y + j, a);
      wasm_v128_store(y + j + 4, b);
      wasm_v128_store(y + j + 8, d);
      wasm_v128_store(y + j + 12, e);
    }
    for (; j + 4 <= c; j += 4) wasm_v128_store(y + j, wasm_v128_load(x + j));
    // The last values as 32-bit integers: a float load and store could quiet a signalling NaN.
    for (; j < c; j++) ((int*)y)[j] = ((const int*)x)[j];
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points (op: see the enum at the top).

// Bytes of scratch memory a kernel needs for these parameters and p->slots slots.
int scratch_bytes(int op, const conv* p) {
  int shared = 0, slot = 0;
  if (op == OP_CONV_FWD) shared = fwd_shared(p), slot = fwd_slot(p);
  else if (op == OP_CONV_BWD_INPUT) shared = bwd_input_shared(p), slot = bwd_input_slot(p);
  else if (op == OP_CONV_BWD_FILTER) shared = bwd_filter_shared(p), slot = bwd_filter_slot(p);
  else if (op == OP_DW_FWD || op == OP_DW_BWD_INPUT) shared = dw_shared(p), slot = dw_slot(p);
  else if (op == OP_WINO_FWD) slot = wino_slot(p, 2);
  else if (op == OP_WINO4_FWD) slot = wino_slot(p, 4);
  else if (op == OP_BN_STATS || op == OP_BN_BWD_SUMS || op == OP_COLUMN_SUM) shared = bn_scratch(p);
  else if (op == OP_AVGPOOL_BWD) shared = avgpool_bwd_shared(p);
  else if (op == OP_FILTER_C1) shared = filter_c1_shared(p);
  else if (op == OP_SE_GATE) slot = se_slot(p);
  else if (op == OP_CONV_PACK) shared = fwd_shared(p), slot = fwd_slot(p);
  else if (op == OP_MAXPOOL_FWD) slot = MAXPOOL_TAPS * 4;
  return align16(shared) + imax(p->slots, 1) * align16(slot) + 64;
}

// The single-threaded set-up of a kernel; returns how many units run() is then called for.
int prepare(int op, conv* p) {
  if (op == OP_CONV_FWD) return conv_fwd_prepare(p);
  if (op == OP_CONV_BWD_INPUT) return conv_bwd_input_prepare(p);
  if (op == OP_CONV_BWD_FILTER) return conv_bwd_filter_prepare(p);
  if (op == OP_DW_FWD) return dw_gather_prepare(p, 1);
  if (op == OP_DW_BWD_INPUT) return dw_gather_prepare(p, 0);
  if (op == OP_DW_BWD_FILTER) return dw_bwd_filter_prepare(p);
  if (op == OP_MAXPOOL_BWD) return maxpool_bwd_prepare(p);
  if (op == OP_WINO_FILTER) return wino_filter_prepare(p);
  if (op == OP_WINO_FWD) return wino_fwd_prepare(p, 2);
  if (op == OP_WINO4_FILTER || op == OP_WINO_FILTER_T || op == OP_WINO4_FILTER_T) return wino_filter_prepare(p);
  if (op == OP_WINO4_FWD) return wino_fwd_prepare(p, 4);
  if (op == OP_ELTWISE) return ew_prepare(p);
  if (op == OP_SHUFFLE2) return shuffle2_prepare(p);
  if (op == OP_BN_STATS || op == OP_BN_BWD_SUMS || op == OP_COLUMN_SUM) return bn_sums_prepare(p);
  if (op == OP_BN_AFFINE || op == OP_BN_BWD_INPUT) return bn_rows_prepare(p);
  if (op == OP_TANH || op == OP_TANH_GRAD) return tanh_prepare(p, op == OP_TANH_GRAD);
  if (op == OP_SGD_STEP || op == OP_ADAM_STEP) return 1;
  if (op == OP_PATCHES_T) return patches_prepare(p);
  if (op == OP_AVGPOOL_BWD) return avgpool_bwd_prepare(p);
  if (op == OP_TRANSPOSE) return transpose_prepare(p);
  if (op == OP_FILTER_C1) return filter_c1_prepare(p);
  if (op == OP_SE_GATE) return se_prepare(p);
  if (op == OP_CONV_PACK) return conv_pack_prepare(p);
  if (op == OP_CONV_FWD_PACKED) return conv_fwd_packed_prepare(p);
  if (op == OP_MAXPOOL_FWD) return maxpool_fwd_prepare(p);
  if (op == OP_RELU_GRAD) return bn_rows_prepare(p);
  if (op == OP_COPY_COLS) return copy_cols_prepare(p);
  return 0;
}

// What a kernel does once all its units are done, on the calling thread (most kernels: nothing).
void finish(int op, conv* p) {
  if (op == OP_CONV_BWD_FILTER) conv_bwd_filter_finish(p);
  else if (op == OP_BN_STATS) bn_stats_finish(p);
  else if (op == OP_BN_BWD_SUMS) bn_bwd_sums_finish(p);
  else if (op == OP_COLUMN_SUM) column_sum_finish(p);
}

// One unit of a prepared kernel, with the scratch of `slot`.
void run(int op, conv* p, int unit, int slot) {
  if (op == OP_CONV_FWD) conv_fwd_run(p, unit, slot);
  else if (op == OP_CONV_BWD_INPUT) conv_bwd_input_run(p, unit, slot);
  else if (op == OP_CONV_BWD_FILTER) conv_bwd_filter_run(p, unit, slot);
  else if (op == OP_DW_FWD) dw_gather_run(p, 1, unit, slot);
  else if (op == OP_DW_BWD_INPUT) dw_gather_run(p, 0, unit, slot);
  else if (op == OP_DW_BWD_FILTER) dw_bwd_filter_run(p, unit);
  else if (op == OP_MAXPOOL_BWD) maxpool_bwd_run(p, unit);
  else if (op == OP_WINO_FILTER) wino_filter_run(p, unit, wino_filter_prepare(p), 0);
  else if (op == OP_WINO_FILTER_T) wino_filter_run(p, unit, wino_filter_prepare(p), 1);
  else if (op == OP_WINO_FWD) wino_fwd_run(p, unit, slot);
  else if (op == OP_WINO4_FILTER) wino4_filter_run(p, unit, wino_filter_prepare(p), 0);
  else if (op == OP_WINO4_FILTER_T) wino4_filter_run(p, unit, wino_filter_prepare(p), 1);
  else if (op == OP_WINO4_FWD) wino4_fwd_run(p, unit, slot);
  else if (op == OP_ELTWISE) ew_run(p, unit);
  else if (op == OP_SHUFFLE2) shuffle2_run(p, unit);
  else if (op == OP_BN_STATS) bn_stats_run(p, unit);
  else if (op == OP_BN_BWD_SUMS) bn_bwd_sums_run(p, unit);
  else if (op == OP_BN_AFFINE) bn_affine_run(p, unit);
  else if (op == OP_BN_BWD_INPUT) bn_bwd_input_run(p, unit);
  else if (op == OP_TANH) tanh_run(p, unit, 0);
  else if (op == OP_TANH_GRAD) tanh_run(p, unit, 1);
  else if (op == OP_SGD_STEP) sgd_run(p);
  else if (op == OP_ADAM_STEP) adam_run(p);
  else if (op == OP_PATCHES_T) patches_run(p, unit);
  else if (op == OP_AVGPOOL_BWD) avgpool_bwd_run(p, unit);
  else if (op == OP_COLUMN_SUM) column_sum_run(p, unit);
  else if (op == OP_TRANSPOSE) transpose_run(p, unit);
  else if (op == OP_FILTER_C1) filter_c1_run(p, unit);
  else if (op == OP_SE_GATE) se_gate_run(p, unit, slot);
  else if (op == OP_CONV_FWD_PACKED) conv_fwd_run(p, unit, slot);
  else if (op == OP_MAXPOOL_FWD) maxpool_fwd_run(p, unit, slot);
  else if (op == OP_RELU_GRAD) relu_grad_run(p, unit);
  else if (op == OP_COPY_COLS) copy_cols_run(p, unit);
}
