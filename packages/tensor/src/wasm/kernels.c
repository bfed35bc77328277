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
// Each kernel is given one parameter block (struct conv) laid out as 4-byte fields.

#include <wasm_simd128.h>

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
} conv;

enum { OP_FWD = 0, OP_BWD_INPUT = 1, OP_BWD_FILTER = 2 };
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

static void igemm_4x8(int taps, int kc, float** ind, int aoff, const float* b, float* c0, float* c1, float* c2,
                      float* c3, int nrows, int cols) {
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
  store_row(c0, a00, a01, cols);
  if (nrows > 1) store_row(c1, a10, a11, cols);
  if (nrows > 2) store_row(c2, a20, a21, cols);
  if (nrows > 3) store_row(c3, a30, a31, cols);
}

// Eight rows by four columns, for narrow groups (ResNeXt's 4 channels per group). Packed panels
// keep the NR = 8 layout; only their first four columns are read.
static void igemm_8x4(int taps, int kc, float** ind, int aoff, const float* b, float** c, int coff, int nrows,
                      int cols) {
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
  store_row(c[0] + coff, a0, z, cols);
  if (nrows > 1) store_row(c[1] + coff, a1, z, cols);
  if (nrows > 2) store_row(c[2] + coff, a2, z, cols);
  if (nrows > 3) store_row(c[3] + coff, a3, z, cols);
  if (nrows > 4) store_row(c[4] + coff, a4, z, cols);
  if (nrows > 5) store_row(c[5] + coff, a5, z, cols);
  if (nrows > 6) store_row(c[6] + coff, a6, z, cols);
  if (nrows > 7) store_row(c[7] + coff, a7, z, cols);
}

// Runs the igemm over a block of rows whose pointer table has been built: rows [0, rows), taps,
// per-tap depth kc, for every group and column panel. ind is [strip][tap][MR]; crow[r] is the
// output row pointer of row r. B for group g is at bpack + g * bgroup, panels of [taps * kc][NR].
static void igemm_block(int rows, int taps, int kc, float** ind, float** crow, int groups, int astep,
                        const float* bpack, int bgroup, int ncols, int cstep) {
  int panel = taps * kc * NR;
  if (ncols <= 4) {
    // 8-row strips: the pointer table is [strip of 8][tap][8], two MR-strips interleaved per tap.
    for (int r0 = 0; r0 < rows; r0 += 2 * MR) {
      float** q = ind + r0 * taps;
      int nr = imin(2 * MR, rows - r0);
      for (int g = 0; g < groups; g++)
        igemm_8x4(taps, kc, q, g * astep, bpack + g * bgroup, crow + r0, g * cstep, nr, ncols);
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
        int off = g * cstep + j0;
        igemm_4x8(taps, kc, q, g * astep, bg + (j0 / NR) * panel, cr[0] + off, cr[imin(1, nr - 1)] + off,
                  cr[imin(2, nr - 1)] + off, cr[imin(3, nr - 1)] + off, nr, imin(NR, ncols - j0));
      }
    }
  }
}

static int strip_rows(int ncols) { return ncols <= 4 ? 2 * MR : MR; }

// ---------------------------------------------------------------------------------------------
// Forward convolution.

static int fwd_scratch(const conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int bfloats = groups * cdiv(cog, NR) * NR * taps * cig;
  int zeros = imax(p->c, p->co) + 4;
  int ptrs = RB * taps + RB;
  return (bfloats + zeros + ptrs) * 4 + 64;
}

void conv_fwd(conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int npanels = cdiv(cog, NR), bgroup = npanels * NR * taps * cig;
  float* bpack = p->scratch;
  float* zero = bpack + groups * bgroup;
  float** ind = (float**)(zero + imax(p->c, p->co) + 4);
  float** crow = ind + RB * taps;
  fill_zero(zero, imax(p->c, p->co) + 4);
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
  int mtotal = p->n * p->oh * p->ow, sr = strip_rows(cog);
  for (int m0 = 0; m0 < mtotal; m0 += RB) {
    int rows = imin(RB, mtotal - m0);
    int padded = cdiv(rows, sr) * sr;
    for (int r = 0; r < padded; r++) {
      int m = m0 + r, strip = r / sr, lane = r % sr;
      float** q = ind + strip * sr * taps;
      if (m >= mtotal) {
        for (int t = 0; t < taps; t++) q[t * sr + lane] = zero;
        crow[r] = crow[0];
        continue;
      }
      int ow = m % p->ow, oh = (m / p->ow) % p->oh, n = m / (p->ow * p->oh);
      crow[r] = p->y + (long)m * p->co;
      for (int i = 0; i < p->kh; i++) {
        int ih = oh * p->sh - p->pt + i * p->dh;
        for (int j = 0; j < p->kw; j++) {
          int iw = ow * p->sw - p->pl + j * p->dw;
          int ok = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w;
          q[(i * p->kw + j) * sr + lane] = ok ? p->x + ((long)(n * p->h + ih) * p->w + iw) * p->c : zero;
        }
      }
    }
    igemm_block(rows, taps, cig, ind, crow, groups, cig, bpack, bgroup, cog, cog);
  }
}

// ---------------------------------------------------------------------------------------------
// Input gradient: dx[pixel, ci] = sum over taps and co of dy[out pixel of the tap, co] * f[tap, ci, co].
// Pixels are taken one stride phase (ih mod sh, iw mod sw) at a time, so that only the taps that
// reach a whole output pixel are visited: nothing is multiplied by the zeros of a strided dy.

static int bwd_input_scratch(const conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  int bfloats = groups * cdiv(cig, NR) * NR * taps * cog;
  int zeros = imax(p->c, p->co) + 4;
  int ptrs = RB * taps + RB + 2 * taps;
  return (bfloats + zeros + ptrs) * 4 + 64;
}

void conv_bwd_input(conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups;
  int taps_all = p->kh * p->kw;
  int npanels = cdiv(cig, NR), bmax = npanels * NR * taps_all * cog;
  float* bpack = p->scratch;
  float* zero = bpack + groups * bmax;
  float** ind = (float**)(zero + imax(p->c, p->co) + 4);
  float** crow = ind + RB * taps_all;
  int* tapi = (int*)(crow + RB);  // kernel rows of this phase
  int* tapj = tapi + taps_all;    // kernel columns of this phase
  fill_zero(zero, imax(p->c, p->co) + 4);
  int sr = strip_rows(cig);
  for (int ph = 0; ph < p->sh && ph < p->h; ph++)
    for (int pw = 0; pw < p->sw && pw < p->w; pw++) {
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
          float* dst = bpack + g * bgroup + pj * NR * taps * cog;
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
      int mtotal = p->n * hh * ww;
      for (int m0 = 0; m0 < mtotal; m0 += RB) {
        int rows = imin(RB, mtotal - m0);
        int padded = cdiv(rows, sr) * sr;
        for (int r = 0; r < padded; r++) {
          int m = m0 + r, strip = r / sr, lane = r % sr;
          float** q = ind + strip * sr * taps;
          if (m >= mtotal) {
            for (int t = 0; t < taps; t++) q[t * sr + lane] = zero;
            crow[r] = crow[0];
            continue;
          }
          int iw = pw + (m % ww) * p->sw, ih = ph + ((m / ww) % hh) * p->sh, n = m / (ww * hh);
          crow[r] = p->x + ((long)(n * p->h + ih) * p->w + iw) * p->c;
          for (int a = 0; a < ni; a++) {
            int oh = (ih + p->pt - tapi[a] * p->dh) / p->sh;
            for (int b = 0; b < nj; b++) {
              int ow = (iw + p->pl - tapj[b] * p->dw) / p->sw;
              int ok = ih + p->pt - tapi[a] * p->dh >= 0 && oh < p->oh && iw + p->pl - tapj[b] * p->dw >= 0 &&
                       ow < p->ow;
              q[(a * nj + b) * sr + lane] = ok ? p->y + ((long)(n * p->oh + oh) * p->ow + ow) * p->co : zero;
            }
          }
        }
        igemm_block(rows, taps, cog, ind, crow, groups, cog, bpack, bgroup, cig, cig);
      }
    }
}

// ---------------------------------------------------------------------------------------------
// Filter gradient: df[tap, ci, co] = sum over output pixels m of x[input pixel of m and tap, ci] * dy[m, co].
// rgemm_4x8 accumulates a tile of 4 input channels (one tap) by 8 output channels over a block of
// output pixels; ind[m * taps] points at the input row of pixel m for this tap.

static void rgemm_4x8(int rows, float** ind, int taps, int xoff, const float* dy, int ldy, float* df, int ldf,
                      int nrows) {
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

// Eight input channels (one tap) by four output channels.
static void rgemm_8x4(int rows, float** ind, int taps, int xoff, const float* dy, int ldy, float* df, int ldf,
                      int nrows) {
  v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  int o1 = imin(1, nrows - 1), o2 = imin(2, nrows - 1), o3 = imin(3, nrows - 1), o4 = imin(4, nrows - 1);
  int o5 = imin(5, nrows - 1), o6 = imin(6, nrows - 1), o7 = imin(7, nrows - 1);
  for (int m = 0; m < rows; m++) {
    const float* xp = ind[m * taps] + xoff;
    v128_t b0 = wasm_v128_load(dy);
    dy += ldy;
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load32_splat(xp), b0));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o1), b0));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o2), b0));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o3), b0));
    a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o4), b0));
    a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o5), b0));
    a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o6), b0));
    a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(wasm_v128_load32_splat(xp + o7), b0));
  }
#define ACC(r, v) \
  if (nrows > r) wasm_v128_store(df + r * ldf, wasm_f32x4_add(wasm_v128_load(df + r * ldf), v))
  ACC(0, a0);
  ACC(1, a1);
  ACC(2, a2);
  ACC(3, a3);
  ACC(4, a4);
  ACC(5, a5);
  ACC(6, a6);
  ACC(7, a7);
#undef ACC
}

// Any tile shape, one column at a time: for output-channel counts that are not a multiple of 4.
static void rgemm_scalar(int rows, float** ind, int taps, int xoff, const float* dy, int ldy, float* df, int ldf,
                         int nrows, int ncols) {
  for (int r = 0; r < nrows; r++)
    for (int j = 0; j < ncols; j++) {
      float s = 0.f;
      for (int m = 0; m < rows; m++) s += ind[m * taps][xoff + r] * dy[m * ldy + j];
      df[r * ldf + j] += s;
    }
}

static int bwd_filter_scratch(const conv* p) {
  int taps = p->kh * p->kw;
  return (imax(p->c, p->co) + 4 + RB * taps) * 4 + 64;
}

void conv_bwd_filter(conv* p) {
  int groups = p->groups, cig = p->c / groups, cog = p->co / groups, taps = p->kh * p->kw;
  float* zero = p->scratch;
  float** ind = (float**)(zero + imax(p->c, p->co) + 4);
  fill_zero(zero, imax(p->c, p->co) + 4);
  fill_zero(p->f, taps * cig * p->co);
  int mtotal = p->n * p->oh * p->ow;
  for (int m0 = 0; m0 < mtotal; m0 += RB) {
    int rows = imin(RB, mtotal - m0);
    for (int r = 0; r < rows; r++) {
      int m = m0 + r;
      int ow = m % p->ow, oh = (m / p->ow) % p->oh, n = m / (p->ow * p->oh);
      for (int i = 0; i < p->kh; i++) {
        int ih = oh * p->sh - p->pt + i * p->dh;
        for (int j = 0; j < p->kw; j++) {
          int iw = ow * p->sw - p->pl + j * p->dw;
          int ok = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w;
          ind[r * taps + i * p->kw + j] = ok ? p->x + ((long)(n * p->h + ih) * p->w + iw) * p->c : zero;
        }
      }
    }
    const float* dyb = p->y + (long)m0 * p->co;
    int wide = cog % 4 == 0 && cog >= 8 ? 8 : (cog % 4 == 0 ? 4 : 0);
    for (int g = 0; g < groups; g++)
      for (int t = 0; t < taps; t++) {
        float** it = ind + t;
        if (wide == 8) {
          for (int c0 = 0; c0 < cig; c0 += MR) {
            int nr = imin(MR, cig - c0);
            float* dst = p->f + (t * cig + c0) * p->co + g * cog;
            for (int j0 = 0; j0 + 8 <= cog; j0 += 8)
              rgemm_4x8(rows, it, taps, g * cig + c0, dyb + g * cog + j0, p->co, dst + j0, p->co, nr);
            if (cog % 8) {
              int j0 = cog - 4;  // the last four columns
              rgemm_8x4(rows, it, taps, g * cig + c0, dyb + g * cog + j0, p->co, dst + j0, p->co, nr);
            }
          }
        } else if (wide == 4) {
          for (int c0 = 0; c0 < cig; c0 += 2 * MR) {
            int nr = imin(2 * MR, cig - c0);
            float* dst = p->f + (t * cig + c0) * p->co + g * cog;
            rgemm_8x4(rows, it, taps, g * cig + c0, dyb + g * cog, p->co, dst, p->co, nr);
          }
        } else {
          for (int c0 = 0; c0 < cig; c0 += MR) {
            int nr = imin(MR, cig - c0);
            float* dst = p->f + (t * cig + c0) * p->co + g * cog;
            rgemm_scalar(rows, it, taps, g * cig + c0, dyb + g * cog, p->co, dst, p->co, nr, cog);
          }
        }
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Depthwise convolution (groups = channels), filter [kh, kw, c, mult], vectorised along channels
// when mult = 1 and by scalar loops otherwise.

static inline int tap_ok(const conv* p, int ih, int iw) { return ih >= 0 && ih < p->h && iw >= 0 && iw < p->w; }

void dw_fwd(conv* p) {
  int c = p->c, mult = p->co / p->c;
  for (int n = 0; n < p->n; n++)
    for (int oh = 0; oh < p->oh; oh++)
      for (int ow = 0; ow < p->ow; ow++) {
        float* yp = p->y + ((long)(n * p->oh + oh) * p->ow + ow) * p->co;
        if (mult == 1) {
          int c0 = 0;
          for (; c0 + 8 <= c; c0 += 8) {
            v128_t s0 = wasm_f32x4_splat(0.f), s1 = s0;
            for (int i = 0; i < p->kh; i++) {
              int ih = oh * p->sh - p->pt + i * p->dh;
              for (int j = 0; j < p->kw; j++) {
                int iw = ow * p->sw - p->pl + j * p->dw;
                if (!tap_ok(p, ih, iw)) continue;
                const float* xp = p->x + ((long)(n * p->h + ih) * p->w + iw) * c + c0;
                const float* fp = p->f + (i * p->kw + j) * c + c0;
                s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(fp)));
                s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(fp + 4)));
              }
            }
            wasm_v128_store(yp + c0, s0);
            wasm_v128_store(yp + c0 + 4, s1);
          }
          for (; c0 < c; c0++) {
            float s = 0.f;
            for (int i = 0; i < p->kh; i++)
              for (int j = 0; j < p->kw; j++) {
                int ih = oh * p->sh - p->pt + i * p->dh, iw = ow * p->sw - p->pl + j * p->dw;
                if (tap_ok(p, ih, iw)) s += p->x[((long)(n * p->h + ih) * p->w + iw) * c + c0] * p->f[(i * p->kw + j) * c + c0];
              }
            yp[c0] = s;
          }
        } else {
          for (int o = 0; o < p->co; o++) {
            int ci = o / mult;
            float s = 0.f;
            for (int i = 0; i < p->kh; i++)
              for (int j = 0; j < p->kw; j++) {
                int ih = oh * p->sh - p->pt + i * p->dh, iw = ow * p->sw - p->pl + j * p->dw;
                if (tap_ok(p, ih, iw)) s += p->x[((long)(n * p->h + ih) * p->w + iw) * c + ci] * p->f[(i * p->kw + j) * p->co + o];
              }
            yp[o] = s;
          }
        }
      }
}

// dx[pixel of tap, c] += dy[m, c] * f[tap, c], scattered from each output pixel.
void dw_bwd_input(conv* p) {
  int c = p->c, mult = p->co / p->c;
  fill_zero(p->x, p->n * p->h * p->w * c);
  for (int n = 0; n < p->n; n++)
    for (int oh = 0; oh < p->oh; oh++)
      for (int ow = 0; ow < p->ow; ow++) {
        const float* dyp = p->y + ((long)(n * p->oh + oh) * p->ow + ow) * p->co;
        for (int i = 0; i < p->kh; i++) {
          int ih = oh * p->sh - p->pt + i * p->dh;
          if (ih < 0 || ih >= p->h) continue;
          for (int j = 0; j < p->kw; j++) {
            int iw = ow * p->sw - p->pl + j * p->dw;
            if (iw < 0 || iw >= p->w) continue;
            float* dxp = p->x + ((long)(n * p->h + ih) * p->w + iw) * c;
            const float* fp = p->f + (i * p->kw + j) * p->co;
            if (mult == 1) {
              int c0 = 0;
              for (; c0 + 4 <= c; c0 += 4)
                wasm_v128_store(dxp + c0, wasm_f32x4_add(wasm_v128_load(dxp + c0),
                                                         wasm_f32x4_mul(wasm_v128_load(dyp + c0), wasm_v128_load(fp + c0))));
              for (; c0 < c; c0++) dxp[c0] += dyp[c0] * fp[c0];
            } else {
              for (int o = 0; o < p->co; o++) dxp[o / mult] += dyp[o] * fp[o];
            }
          }
        }
      }
}

// df[tap, c] += x[pixel of tap, c] * dy[m, c], over every output pixel.
void dw_bwd_filter(conv* p) {
  int c = p->c, mult = p->co / p->c;
  fill_zero(p->f, p->kh * p->kw * p->co);
  for (int n = 0; n < p->n; n++)
    for (int oh = 0; oh < p->oh; oh++)
      for (int ow = 0; ow < p->ow; ow++) {
        const float* dyp = p->y + ((long)(n * p->oh + oh) * p->ow + ow) * p->co;
        for (int i = 0; i < p->kh; i++) {
          int ih = oh * p->sh - p->pt + i * p->dh;
          if (ih < 0 || ih >= p->h) continue;
          for (int j = 0; j < p->kw; j++) {
            int iw = ow * p->sw - p->pl + j * p->dw;
            if (iw < 0 || iw >= p->w) continue;
            const float* xp = p->x + ((long)(n * p->h + ih) * p->w + iw) * c;
            float* fp = p->f + (i * p->kw + j) * p->co;
            if (mult == 1) {
              int c0 = 0;
              for (; c0 + 4 <= c; c0 += 4)
                wasm_v128_store(fp + c0, wasm_f32x4_add(wasm_v128_load(fp + c0),
                                                        wasm_f32x4_mul(wasm_v128_load(xp + c0), wasm_v128_load(dyp + c0))));
              for (; c0 < c; c0++) fp[c0] += xp[c0] * dyp[c0];
            } else {
              for (int o = 0; o < p->co; o++) fp[o] += xp[o / mult] * dyp[o];
            }
          }
        }
      }
}

// Bytes of scratch memory a kernel needs for these parameters (op: 0 forward, 1 input gradient,
// 2 filter gradient; depthwise kernels need none).
int scratch_bytes(int op, const conv* p) {
  if (op == OP_FWD) return fwd_scratch(p);
  if (op == OP_BWD_INPUT) return bwd_input_scratch(p);
  return bwd_filter_scratch(p);
}
