// Element-wise and pooling-gradient kernels for the TensorFlow.js wasm backend, compiled to
// WebAssembly SIMD by scripts/build-wasm.mjs (clang --target=wasm32 -msimd128) and run on the
// backend's own memory (the module imports it): every pointer is a byte offset into the tfjs heap.
//
// The module must own no linear memory: no static data, no shadow stack (the build checks that it
// touches no global). Locals only, constants as SIMD immediates.
//
// Functions replace tfjs-backend-wasm 4.22 kernels that run at 5-130 ns per element (scalar libm
// calls, broadcasting index arithmetic, a per-element Tile): Exp, Log, Softplus, Sign, Maximum,
// Minimum, the comparisons, Select, and MaxPoolGrad for 2x2/2 windows. Each matches its original:
// the comparison, selection and pooling kernels bit for bit (Maximum, Minimum and Sign as
// tfjs-cpu, where tfjs-wasm's own differ on NaN and tiny values); exp and log are Cephes'
// single-precision polynomials (Moshier), within 2 ulp of the correctly rounded result (softplus
// within 4 ulp).
//
// Built twice: standard SIMD (-msimd128; matrix products bit-equal to XNNPACK's) and relaxed SIMD
// (-mrelaxed-simd), where madd4, the products' multiply-add, is one fused multiply-add.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline v128_t f4(float x) { return wasm_f32x4_splat(x); }
static inline v128_t i4(int32_t x) { return wasm_i32x4_splat(x); }

// acc + a·b in the products' inner loops (matrix products, Winograd products, the filter
// gradients). Built with -mrelaxed-simd (the module's FMA variant) it is relaxed SIMD's
// f32x4.relaxed_madd: one fused multiply-add where the CPU has one (rounded once), else the two
// operations; built without, it is the multiply then the add, each rounded.
static inline v128_t madd4(v128_t a, v128_t b, v128_t acc) {
#ifdef __wasm_relaxed_simd__
  return __builtin_wasm_relaxed_madd_f32x4(a, b, acc);
#else
  return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b));
#endif
}

// One step of a 4 x 8 register tile: acc##r0 += x_r · lo and acc##r1 += x_r · hi for rows r = 0..3
// (the accumulators named acc00, acc01, ..., acc31).
#define MADD_4X8(acc, x0, x1, x2, x3, lo, hi) \
  acc##00 = madd4(x0, lo, acc##00);            \
  acc##01 = madd4(x0, hi, acc##01);            \
  acc##10 = madd4(x1, lo, acc##10);            \
  acc##11 = madd4(x1, hi, acc##11);            \
  acc##20 = madd4(x2, lo, acc##20);            \
  acc##21 = madd4(x2, hi, acc##21);            \
  acc##30 = madd4(x3, lo, acc##30);            \
  acc##31 = madd4(x3, hi, acc##31);

// Where chunk c of `chunks` starts in `total` units of work, the chunks shrinking linearly from
// about 2 / chunks of the work to 1 / chunks²: the two threads take chunks in order, so the last
// ones, which decide how long one thread waits for the other, are short (guided scheduling).
static inline int64_t guided_start(int64_t total, int32_t c, int32_t chunks) {
  const int64_t left = chunks - c, all = (int64_t)chunks * chunks;
  return total - (total * left * left + all - 1) / all;
}

// ------------------------------------------------------------------------------------ exp, log

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (Cody-Waite), exp(r)
// by Cephes expf's degree-5 polynomial. x > 88.7228 -> +inf, x < -103.972 -> 0, NaN -> NaN;
// results below 2^-126 are built in two steps so that denormals come out right.
static inline v128_t exp4(v128_t x) {
  const v128_t hi = f4(88.72283935546875f), lo = f4(-103.97207641601562f);
  // pmin/pmax keep a NaN in x (their first operand is returned unless the comparison holds).
  v128_t c = wasm_f32x4_pmax(wasm_f32x4_pmin(x, hi), lo);
  // Round to nearest by adding 1.5 * 2^23: n's integer value lands in the low mantissa bits.
  const v128_t magic = f4(12582912.0f);
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(c, f4(1.44269504088896341f)), magic);
  v128_t n = wasm_f32x4_sub(t, magic);
  v128_t r = wasm_f32x4_sub(c, wasm_f32x4_mul(n, f4(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, f4(-2.12194440e-4f)));
  v128_t p = f4(1.9875691500E-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), f4(1.3981999507E-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), f4(8.3334519073E-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), f4(4.1665795894E-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), f4(1.6666665459E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), f4(5.0000001201E-1f));
  v128_t r2 = wasm_f32x4_mul(r, r);
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p, r2), r), f4(1.0f));
  // 2^n in two factors 2^(n - k) * 2^k with k = n / 2, both normal for n in [-150, 128].
  v128_t ni = wasm_i32x4_sub(t, magic);
  v128_t k = wasm_i32x4_shr(ni, 1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(k, i4(127)), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(ni, k), i4(127)), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  y = wasm_v128_bitselect(f4(__builtin_inff()), y, wasm_f32x4_gt(x, hi));
  y = wasm_v128_bitselect(f4(0.0f), y, wasm_f32x4_lt(x, lo));
  return y;
}

// log(x) = e ln 2 + log(m), m in [sqrt(1/2), sqrt(2)), log(m) by Cephes logf's degree-8 polynomial.
// Denormals are scaled by 2^23 first; x < 0 or NaN -> NaN, 0 -> -inf, +inf -> +inf.
static inline v128_t log4(v128_t x) {
  v128_t tiny = wasm_f32x4_lt(x, f4(1.17549435e-38f));
  v128_t xs = wasm_v128_bitselect(wasm_f32x4_mul(x, f4(8388608.0f)), x, tiny);
  v128_t bits = xs;
  v128_t e = wasm_i32x4_sub(wasm_u32x4_shr(bits, 23), i4(126));
  e = wasm_v128_bitselect(wasm_i32x4_sub(e, i4(23)), e, tiny);
  v128_t m = wasm_v128_or(wasm_v128_and(bits, i4(0x007fffff)), i4(0x3f000000));  // [0.5, 1)
  v128_t ef = wasm_f32x4_convert_i32x4(e);
  v128_t small = wasm_f32x4_lt(m, f4(0.707106781186547524f));
  // m < sqrt(1/2): e -= 1, m = 2m - 1; else m = m - 1.
  ef = wasm_f32x4_sub(ef, wasm_v128_and(small, f4(1.0f)));
  m = wasm_f32x4_sub(wasm_f32x4_add(m, wasm_v128_and(small, m)), f4(1.0f));
  v128_t z = wasm_f32x4_mul(m, m);
  v128_t p = f4(7.0376836292E-2f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(-1.1514610310E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(1.1676998740E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(-1.2420140846E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(1.4249322787E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(-1.6668057665E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(2.0000714765E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(-2.4999993993E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, m), f4(3.3333331174E-1f));
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, m), z);
  y = wasm_f32x4_add(y, wasm_f32x4_mul(ef, f4(-2.12194440e-4f)));
  y = wasm_f32x4_sub(y, wasm_f32x4_mul(z, f4(0.5f)));
  y = wasm_f32x4_add(wasm_f32x4_add(m, y), wasm_f32x4_mul(ef, f4(0.693359375f)));
  y = wasm_v128_bitselect(f4(-__builtin_inff()), y, wasm_f32x4_eq(x, f4(0.0f)));
  y = wasm_v128_bitselect(x, y, wasm_f32x4_eq(x, f4(__builtin_inff())));
  // x < 0 or NaN (x != x): NaN.
  v128_t bad = wasm_v128_or(wasm_f32x4_lt(x, f4(0.0f)), wasm_f32x4_ne(x, x));
  y = wasm_v128_bitselect(f4(__builtin_nanf("")), y, bad);
  return y;
}

// log(1 + u) for u >= 0 to full precision: log(w) * u / (w - 1) with w = 1 + u rounded (Goldberg).
static inline v128_t log1p4(v128_t u) {
  v128_t w = wasm_f32x4_add(u, f4(1.0f));
  v128_t d = wasm_f32x4_sub(w, f4(1.0f));
  v128_t y = wasm_f32x4_div(wasm_f32x4_mul(log4(w), u), d);
  // w == 1 (u below half an ulp of 1): log1p(u) = u. w == inf: log(w).
  y = wasm_v128_bitselect(u, y, wasm_f32x4_eq(d, f4(0.0f)));
  y = wasm_v128_bitselect(w, y, wasm_f32x4_eq(w, f4(__builtin_inff())));
  return y;
}

typedef v128_t (*unary4)(v128_t);

static inline void unary_run(const float* x, float* out, int32_t n, unary4 f) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, f(wasm_v128_load(x + i)));
  if (i < n) {
    v128_t v = f(wasm_f32x4_make(x[i], i + 1 < n ? x[i + 1] : 0.0f, i + 2 < n ? x[i + 2] : 0.0f, 0.0f));
    out[i] = wasm_f32x4_extract_lane(v, 0);
    if (i + 1 < n) out[i + 1] = wasm_f32x4_extract_lane(v, 1);
    if (i + 2 < n) out[i + 2] = wasm_f32x4_extract_lane(v, 2);
  }
}

// softplus as tfjs computes it: x > -t -> x; x < t -> exp(x); else log(1 + exp(x)), with
// t = log(2^-23) + 2 (TensorFlow's threshold).
static inline v128_t softplus4(v128_t x) {
  const float t = -13.942385152878742f;
  v128_t ex = exp4(x);
  v128_t y = log1p4(ex);
  y = wasm_v128_bitselect(ex, y, wasm_f32x4_lt(x, f4(t)));
  y = wasm_v128_bitselect(x, y, wasm_f32x4_gt(x, f4(-t)));
  return y;
}

// sign: -1, 0 or 1; NaN -> NaN... tfjs-wasm returns 0 for NaN (x > 0 and x < 0 both false).
static inline v128_t sign4(v128_t x) {
  v128_t pos = wasm_v128_and(wasm_f32x4_gt(x, f4(0.0f)), f4(1.0f));
  v128_t neg = wasm_v128_and(wasm_f32x4_lt(x, f4(0.0f)), f4(-1.0f));
  return wasm_v128_or(pos, neg);
}

EXPORT(exp_f32) void exp_f32(const float* x, float* out, int32_t n) { unary_run(x, out, n, exp4); }
EXPORT(log_f32) void log_f32(const float* x, float* out, int32_t n) { unary_run(x, out, n, log4); }
EXPORT(softplus_f32) void softplus_f32(const float* x, float* out, int32_t n) { unary_run(x, out, n, softplus4); }
EXPORT(sign_f32) void sign_f32(const float* x, float* out, int32_t n) { unary_run(x, out, n, sign4); }

// ------------------------------------------------------------------ binary, with broadcasting

// out[o * inner + i] = op(a[o * aOuter + i * aInner], b[o * bOuter + i * bInner]): any broadcast
// that collapses to two levels (same shape, a scalar, a row or a column against a matrix,
// a column against a row). Strides are in elements and are 0 or 1 for the inner level.
enum { OP_MAX = 0, OP_MIN = 1, OP_GT = 2, OP_GE = 3, OP_LT = 4, OP_LE = 5, OP_EQ = 6, OP_NE = 7 };

static inline v128_t load_f(const float* p, int32_t stride) { return stride == 0 ? wasm_v128_load32_splat(p) : wasm_v128_load(p); }
static inline v128_t load_i(const int32_t* p, int32_t stride) { return stride == 0 ? wasm_v128_load32_splat(p) : wasm_v128_load(p); }

// Maximum/Minimum as tfjs-cpu, TensorFlow and PyTorch: a NaN on either side gives NaN, and
// max(-0, +0) = +0, min(-0, +0) = -0 (WebAssembly's f32.max/f32.min). tfjs-backend-wasm 4.22's own
// kernel (std::max) drops a NaN in its second operand.
static inline v128_t fmax4(v128_t a, v128_t b) { return wasm_f32x4_max(a, b); }
static inline v128_t fmin4(v128_t a, v128_t b) { return wasm_f32x4_min(a, b); }

static inline v128_t cmp_f(int32_t op, v128_t a, v128_t b) {
  switch (op) {
    case OP_GT: return wasm_f32x4_gt(a, b);
    case OP_GE: return wasm_f32x4_ge(a, b);
    case OP_LT: return wasm_f32x4_lt(a, b);
    case OP_LE: return wasm_f32x4_le(a, b);
    case OP_EQ: return wasm_f32x4_eq(a, b);
    default: return wasm_f32x4_ne(a, b);
  }
}
static inline v128_t cmp_i(int32_t op, v128_t a, v128_t b) {
  switch (op) {
    case OP_GT: return wasm_i32x4_gt(a, b);
    case OP_GE: return wasm_i32x4_ge(a, b);
    case OP_LT: return wasm_i32x4_lt(a, b);
    case OP_LE: return wasm_i32x4_le(a, b);
    case OP_EQ: return wasm_i32x4_eq(a, b);
    default: return wasm_i32x4_ne(a, b);
  }
}

static inline float fmax1(float a, float b) { return __builtin_wasm_max_f32(a, b); }
static inline float fmin1(float a, float b) { return __builtin_wasm_min_f32(a, b); }
static inline int cmp1f(int32_t op, float a, float b) {
  switch (op) {
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_EQ: return a == b;
    default: return a != b;
  }
}
static inline int cmp1i(int32_t op, int32_t a, int32_t b) {
  switch (op) {
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_EQ: return a == b;
    default: return a != b;
  }
}

// Maximum / minimum of float32 or int32 (for int32 the same formulas on integers).
EXPORT(minmax) void minmax(int32_t op, int32_t isInt, const void* a, int32_t aOuter, int32_t aInner, const void* b,
                           int32_t bOuter, int32_t bInner, void* out, int32_t outer, int32_t inner) {
  for (int32_t o = 0; o < outer; o++) {
    int32_t i = 0;
    if (isInt) {
      const int32_t* pa = (const int32_t*)a + o * aOuter;
      const int32_t* pb = (const int32_t*)b + o * bOuter;
      int32_t* po = (int32_t*)out + o * inner;
      for (; i + 4 <= inner; i += 4) {
        v128_t va = load_i(pa + i * aInner, aInner), vb = load_i(pb + i * bInner, bInner);
        wasm_v128_store(po + i, op == OP_MAX ? wasm_i32x4_max(va, vb) : wasm_i32x4_min(va, vb));
      }
      for (; i < inner; i++) {
        int32_t x = pa[i * aInner], y = pb[i * bInner];
        po[i] = op == OP_MAX ? (x < y ? y : x) : (y < x ? y : x);
      }
    } else {
      const float* pa = (const float*)a + o * aOuter;
      const float* pb = (const float*)b + o * bOuter;
      float* po = (float*)out + o * inner;
      for (; i + 4 <= inner; i += 4) {
        v128_t va = load_f(pa + i * aInner, aInner), vb = load_f(pb + i * bInner, bInner);
        wasm_v128_store(po + i, op == OP_MAX ? fmax4(va, vb) : fmin4(va, vb));
      }
      for (; i < inner; i++) po[i] = op == OP_MAX ? fmax1(pa[i * aInner], pb[i * bInner]) : fmin1(pa[i * aInner], pb[i * bInner]);
    }
  }
}

// Comparisons of float32 or int32 into bool (one byte, 0 or 1).
EXPORT(compare) void compare(int32_t op, int32_t isInt, const void* a, int32_t aOuter, int32_t aInner, const void* b,
                             int32_t bOuter, int32_t bInner, uint8_t* out, int32_t outer, int32_t inner) {
  for (int32_t o = 0; o < outer; o++) {
    uint8_t* po = out + o * inner;
    int32_t i = 0;
    if (isInt) {
      const int32_t* pa = (const int32_t*)a + o * aOuter;
      const int32_t* pb = (const int32_t*)b + o * bOuter;
      for (; i + 16 <= inner; i += 16) {
        v128_t m0 = cmp_i(op, load_i(pa + i * aInner, aInner), load_i(pb + i * bInner, bInner));
        v128_t m1 = cmp_i(op, load_i(pa + (i + 4) * aInner, aInner), load_i(pb + (i + 4) * bInner, bInner));
        v128_t m2 = cmp_i(op, load_i(pa + (i + 8) * aInner, aInner), load_i(pb + (i + 8) * bInner, bInner));
        v128_t m3 = cmp_i(op, load_i(pa + (i + 12) * aInner, aInner), load_i(pb + (i + 12) * bInner, bInner));
        v128_t bytes = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(m0, m1), wasm_i16x8_narrow_i32x4(m2, m3));
        wasm_v128_store(po + i, wasm_v128_and(bytes, wasm_i8x16_splat(1)));
      }
      for (; i < inner; i++) po[i] = (uint8_t)cmp1i(op, pa[i * aInner], pb[i * bInner]);
    } else {
      const float* pa = (const float*)a + o * aOuter;
      const float* pb = (const float*)b + o * bOuter;
      for (; i + 16 <= inner; i += 16) {
        v128_t m0 = cmp_f(op, load_f(pa + i * aInner, aInner), load_f(pb + i * bInner, bInner));
        v128_t m1 = cmp_f(op, load_f(pa + (i + 4) * aInner, aInner), load_f(pb + (i + 4) * bInner, bInner));
        v128_t m2 = cmp_f(op, load_f(pa + (i + 8) * aInner, aInner), load_f(pb + (i + 8) * bInner, bInner));
        v128_t m3 = cmp_f(op, load_f(pa + (i + 12) * aInner, aInner), load_f(pb + (i + 12) * bInner, bInner));
        v128_t bytes = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(m0, m1), wasm_i16x8_narrow_i32x4(m2, m3));
        wasm_v128_store(po + i, wasm_v128_and(bytes, wasm_i8x16_splat(1)));
      }
      for (; i < inner; i++) po[i] = (uint8_t)cmp1f(op, pa[i * aInner], pb[i * bInner]);
    }
  }
}

// Select(condition, t, e) of 4-byte values (float32 or int32), all of one shape.
EXPORT(select32) void select32(const uint8_t* cond, const int32_t* t, const int32_t* e, int32_t* out, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t c = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(cond + i)));
    v128_t mask = wasm_i32x4_ne(c, wasm_i32x4_splat(0));
    wasm_v128_store(out + i, wasm_v128_bitselect(wasm_v128_load(t + i), wasm_v128_load(e + i), mask));
  }
  for (; i < n; i++) out[i] = cond[i] ? t[i] : e[i];
}

// ---------------------------------------------------------------------------- MaxPoolGrad 2x2/2

// dx of a 2x2 max pool with stride 2 whose windows tile the input exactly: each window's dy goes to
// the first cell (row-major) holding the window's maximum (strict >, from -inf: NaN never wins; a
// window of -inf or NaN only gets nothing), the other three cells get 0.
// x, dx: [rows * 2, outWidth * 2, channels]; dy: [rows, outWidth, channels].
EXPORT(max_pool_grad_2x2) void max_pool_grad_2x2(const float* x, const float* dy, float* dx, int32_t rows, int32_t outWidth,
                                                 int32_t channels, int32_t rowStart, int32_t rowEnd) {
  const int32_t rowStride = 2 * outWidth * channels;
  (void)rows;
  for (int32_t r = rowStart; r < rowEnd; r++) {
    const float* top = x + 2 * r * rowStride;
    float* dtop = dx + 2 * r * rowStride;
    const float* g = dy + r * outWidth * channels;
    for (int32_t ox = 0; ox < outWidth; ox++) {
      const int32_t p0 = 2 * ox * channels, p1 = p0 + channels, p2 = p0 + rowStride, p3 = p2 + channels;
      const float* go = g + ox * channels;
      int32_t c = 0;
      for (; c + 4 <= channels; c += 4) {
        v128_t v0 = wasm_v128_load(top + p0 + c), v1 = wasm_v128_load(top + p1 + c);
        v128_t v2 = wasm_v128_load(top + p2 + c), v3 = wasm_v128_load(top + p3 + c);
        v128_t best = f4(-__builtin_inff());
        v128_t w0 = wasm_f32x4_gt(v0, best);
        best = wasm_v128_bitselect(v0, best, w0);
        v128_t w1 = wasm_f32x4_gt(v1, best);
        best = wasm_v128_bitselect(v1, best, w1);
        v128_t w2 = wasm_f32x4_gt(v2, best);
        best = wasm_v128_bitselect(v2, best, w2);
        v128_t w3 = wasm_f32x4_gt(v3, best);
        // The last cell that raised the maximum wins.
        v128_t k2 = wasm_v128_andnot(w2, w3);
        v128_t k1 = wasm_v128_andnot(wasm_v128_andnot(w1, w3), w2);
        v128_t k0 = wasm_v128_andnot(wasm_v128_andnot(wasm_v128_andnot(w0, w3), w2), w1);
        v128_t grad = wasm_v128_load(go + c);
        wasm_v128_store(dtop + p0 + c, wasm_v128_and(grad, k0));
        wasm_v128_store(dtop + p1 + c, wasm_v128_and(grad, k1));
        wasm_v128_store(dtop + p2 + c, wasm_v128_and(grad, k2));
        wasm_v128_store(dtop + p3 + c, wasm_v128_and(grad, w3));
      }
      for (; c < channels; c++) {
        float a0 = top[p0 + c], a1 = top[p1 + c], a2 = top[p2 + c], a3 = top[p3 + c];
        float best = -__builtin_inff();
        int32_t winner = -1;
        if (a0 > best) { best = a0; winner = 0; }
        if (a1 > best) { best = a1; winner = 1; }
        if (a2 > best) { best = a2; winner = 2; }
        if (a3 > best) winner = 3;
        float grad = go[c];
        dtop[p0 + c] = winner == 0 ? grad : 0.0f;
        dtop[p1 + c] = winner == 1 ? grad : 0.0f;
        dtop[p2 + c] = winner == 2 ? grad : 0.0f;
        dtop[p3 + c] = winner == 3 ? grad : 0.0f;
      }
    }
  }
}

// ------------------------------------------------------------------- Conv2DBackpropFilter

// dW[kh, kw, ci, co] = sum over b, oy, ox of x[b, oy*sh + kh - pt, ox*sw + kw - pl, ci] * dy[b, oy, ox, co]
// (NHWC, dilation 1; cells outside the image are zero and skipped). Register tiles of 4 input x 8
// output channels (or 1 x 32, 1 x 4 for the remainder) accumulate one image in float32; the image
// sums go into `acc` (float64, [fh * fw * inC * outC], zeroed by the caller), so the result does
// not depend on the batch order beyond float64 rounding. The caller rounds `acc` into dW.
static inline void bpf_tile_4x8(const float* x, const float* dy, double* acc, int32_t oy0, int32_t oy1, int32_t ox0,
                                int32_t ox1, int32_t xRow, int32_t xCol, int32_t dyRow, int32_t dyCol, int32_t outC) {
  v128_t a00 = f4(0), a01 = f4(0), a10 = f4(0), a11 = f4(0), a20 = f4(0), a21 = f4(0), a30 = f4(0), a31 = f4(0);
  for (int32_t oy = oy0; oy < oy1; oy++) {
    const float* xp = x + oy * xRow + ox0 * xCol;
    const float* gp = dy + oy * dyRow + ox0 * dyCol;
    for (int32_t ox = ox0; ox < ox1; ox++, xp += xCol, gp += dyCol) {
      v128_t g0 = wasm_v128_load(gp), g1 = wasm_v128_load(gp + 4);
      v128_t v0 = wasm_v128_load32_splat(xp), v1 = wasm_v128_load32_splat(xp + 1);
      v128_t v2 = wasm_v128_load32_splat(xp + 2), v3 = wasm_v128_load32_splat(xp + 3);
      MADD_4X8(a, v0, v1, v2, v3, g0, g1)
    }
  }
#define BPF_STORE(row, v0_, v1_)                                              \
  {                                                                          \
    double* r = acc + (row) * outC;                                          \
    r[0] += wasm_f32x4_extract_lane(v0_, 0); r[1] += wasm_f32x4_extract_lane(v0_, 1); \
    r[2] += wasm_f32x4_extract_lane(v0_, 2); r[3] += wasm_f32x4_extract_lane(v0_, 3); \
    r[4] += wasm_f32x4_extract_lane(v1_, 0); r[5] += wasm_f32x4_extract_lane(v1_, 1); \
    r[6] += wasm_f32x4_extract_lane(v1_, 2); r[7] += wasm_f32x4_extract_lane(v1_, 3); \
  }
  BPF_STORE(0, a00, a01) BPF_STORE(1, a10, a11) BPF_STORE(2, a20, a21) BPF_STORE(3, a30, a31)
#undef BPF_STORE
}

// One input channel against 4 * vecs output channels (vecs <= 8).
static inline void bpf_tile_1xv(const float* x, const float* dy, double* acc, int32_t oy0, int32_t oy1, int32_t ox0,
                                int32_t ox1, int32_t xRow, int32_t xCol, int32_t dyRow, int32_t dyCol, int32_t vecs) {
  v128_t a0 = f4(0), a1 = f4(0), a2 = f4(0), a3 = f4(0), a4 = f4(0), a5 = f4(0), a6 = f4(0), a7 = f4(0);
  for (int32_t oy = oy0; oy < oy1; oy++) {
    const float* xp = x + oy * xRow + ox0 * xCol;
    const float* gp = dy + oy * dyRow + ox0 * dyCol;
    for (int32_t ox = ox0; ox < ox1; ox++, xp += xCol, gp += dyCol) {
      v128_t v = wasm_v128_load32_splat(xp);
      a0 = madd4(v, wasm_v128_load(gp), a0);
      if (vecs > 1) a1 = madd4(v, wasm_v128_load(gp + 4), a1);
      if (vecs > 2) a2 = madd4(v, wasm_v128_load(gp + 8), a2);
      if (vecs > 3) a3 = madd4(v, wasm_v128_load(gp + 12), a3);
      if (vecs > 4) a4 = madd4(v, wasm_v128_load(gp + 16), a4);
      if (vecs > 5) a5 = madd4(v, wasm_v128_load(gp + 20), a5);
      if (vecs > 6) a6 = madd4(v, wasm_v128_load(gp + 24), a6);
      if (vecs > 7) a7 = madd4(v, wasm_v128_load(gp + 28), a7);
    }
  }
#define BPF_ADD4(k, v_)                                                                                   \
  if (vecs > k) {                                                                                         \
    acc[4 * k] += wasm_f32x4_extract_lane(v_, 0); acc[4 * k + 1] += wasm_f32x4_extract_lane(v_, 1);      \
    acc[4 * k + 2] += wasm_f32x4_extract_lane(v_, 2); acc[4 * k + 3] += wasm_f32x4_extract_lane(v_, 3);  \
  }
  BPF_ADD4(0, a0) BPF_ADD4(1, a1) BPF_ADD4(2, a2) BPF_ADD4(3, a3) BPF_ADD4(4, a4) BPF_ADD4(5, a5) BPF_ADD4(6, a6) BPF_ADD4(7, a7)
#undef BPF_ADD4
}

static inline int32_t ceil_div(int32_t a, int32_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

EXPORT(conv2d_backprop_filter) void conv2d_backprop_filter(const float* x, const float* dy, double* acc, int32_t first,
                                                           int32_t count, int32_t inH, int32_t inW, int32_t inC,
                                                           int32_t outH, int32_t outW, int32_t outC, int32_t fh, int32_t fw,
                                                           int32_t sh, int32_t sw, int32_t pt, int32_t pl) {
  const int32_t xCol = sw * inC, xRow = sh * inW * inC;  // per output step
  const int32_t dyCol = outC, dyRow = outW * outC;
  for (int32_t b = first; b < first + count; b++) {
    const float* xImage = x + (int64_t)b * inH * inW * inC;
    const float* dyImage = dy + (int64_t)b * outH * outW * outC;
    for (int32_t kh = 0; kh < fh; kh++) {
      // Output rows whose input row oy*sh + kh - pt lies in [0, inH).
      int32_t oy0 = ceil_div(pt - kh, sh);
      if (oy0 < 0) oy0 = 0;
      int32_t oy1 = ceil_div(inH + pt - kh, sh);
      if (oy1 > outH) oy1 = outH;
      if (oy0 >= oy1) continue;
      for (int32_t kw = 0; kw < fw; kw++) {
        int32_t ox0 = ceil_div(pl - kw, sw);
        if (ox0 < 0) ox0 = 0;
        int32_t ox1 = ceil_div(inW + pl - kw, sw);
        if (ox1 > outW) ox1 = outW;
        if (ox0 >= ox1) continue;
        // x at output (0, 0) for this tap (may point before the image; only in-range cells are read).
        const float* xTap = xImage + ((int64_t)(kh - pt) * inW + (kw - pl)) * inC;
        double* accTap = acc + (int64_t)(kh * fw + kw) * inC * outC;
        int32_t ci = 0;
        for (; ci + 4 <= inC; ci += 4) {
          int32_t co = 0;
          for (; co + 8 <= outC; co += 8) {
            bpf_tile_4x8(xTap + ci, dyImage + co, accTap + ci * outC + co, oy0, oy1, ox0, ox1, xRow, xCol, dyRow, dyCol, outC);
          }
          for (; co < outC; co++) {
            for (int32_t c = ci; c < ci + 4; c++) {
              float s = 0.0f;
              for (int32_t oy = oy0; oy < oy1; oy++)
                for (int32_t ox = ox0; ox < ox1; ox++) s += xTap[oy * xRow + ox * xCol + c] * dyImage[oy * dyRow + ox * dyCol + co];
              accTap[c * outC + co] += s;
            }
          }
        }
        for (; ci < inC; ci++) {
          int32_t co = 0;
          for (; co + 32 <= outC; co += 32) {
            bpf_tile_1xv(xTap + ci, dyImage + co, accTap + ci * outC + co, oy0, oy1, ox0, ox1, xRow, xCol, dyRow, dyCol, 8);
          }
          if (co + 4 <= outC) {
            int32_t vecs = (outC - co) / 4;
            bpf_tile_1xv(xTap + ci, dyImage + co, accTap + ci * outC + co, oy0, oy1, ox0, ox1, xRow, xCol, dyRow, dyCol, vecs);
            co += 4 * vecs;
          }
          for (; co < outC; co++) {
            float s = 0.0f;
            for (int32_t oy = oy0; oy < oy1; oy++)
              for (int32_t ox = ox0; ox < ox1; ox++) s += xTap[oy * xRow + ox * xCol + ci] * dyImage[oy * dyRow + ox * dyCol + co];
            accTap[ci * outC + co] += s;
          }
        }
      }
    }
  }
}

// conv2d_backprop_filter over the batch cut into `chunks` fixed groups of images (group c: images
// [c * batch / chunks, (c + 1) * batch / chunks)), each summed into its own float64 accumulators
// acc + c * size; groups [chunkStart, chunkEnd) here. The caller adds the groups in order, so the
// sums do not depend on which thread ran which group.
EXPORT(conv2d_bpf_groups) void conv2d_bpf_groups(const float* x, const float* dy, double* acc, int32_t size, int32_t batch, int32_t chunks,
                                                 int32_t inH, int32_t inW, int32_t inC, int32_t outH, int32_t outW, int32_t outC, int32_t fh,
                                                 int32_t fw, int32_t sh, int32_t sw, int32_t pt, int32_t pl, int32_t chunkStart, int32_t chunkEnd) {
  for (int32_t c = chunkStart; c < chunkEnd; c++) {
    const int32_t first = (int32_t)((int64_t)c * batch / chunks), last = (int32_t)((int64_t)(c + 1) * batch / chunks);
    if (last > first && outH * outW > 0) {
      conv2d_backprop_filter(x, dy, acc + (int64_t)c * size, first, last - first, inH, inW, inC, outH, outW, outC, fh, fw, sh, sw, pt, pl);
    }
  }
}

// dW (float32) = acc (float64), rounded.
EXPORT(round_f64_to_f32) void round_f64_to_f32(const double* acc, float* out, int32_t n) {
  for (int32_t i = 0; i < n; i++) out[i] = (float)acc[i];
}

// --------------------------------------------------------------- InfoNCE rows (SupCon, NT-Xent)

// Row losses and their gradients for the InfoNCE engine of @contrastive/losses, one pass per row
// instead of ~15 element-wise tensors. s: [n, m] logits (already scaled), ids: compact label ids of
// the rows ([n]) and columns ([m]); column `selfStart + i` is row i's own (selfStart < 0: none).
//
// kind 0, SupCon (Khosla et al. 2020, PML's SupConLoss): lse_i over every column but self,
//   loss_i = [P_i > 0] (lse_i - mean of s_ij over the positives), positives = same id, not self;
//   dL/ds_ij = c_i softmax_ij - [j positive] c_i / P_i with c_i = dRow_i [P_i > 0].
// kind 1, NT-Xent (Chen et al. 2020, PML's NTXentLoss): lse_i over the negatives (other ids),
//   loss_i = [N_i > 0] sum over positives of softplus(lse_i - s_ij);
//   dL/ds_ij = softmaxNeg_ij c_i sum_k sigma_ik - [j positive] c_i sigma_ij, sigma_ij =
//   sigmoid(lse_i - s_ij), c_i = dRow_i [N_i > 0].

static inline int32_t row_included(int32_t kind, int32_t idRow, int32_t idCol, int32_t j, int32_t self) {
  return kind == 0 ? j != self : idCol != idRow;
}

// Lanes j..j+3 of a row that enter its log-sum-exp: SupCon every column but self, NT-Xent the
// columns of another id.
static inline v128_t keep4(int32_t kind, const int32_t* cols, int32_t j, v128_t vid, int32_t self) {
  if (kind == 0) return wasm_i32x4_ne(wasm_i32x4_add(i4(j), wasm_i32x4_make(0, 1, 2, 3)), i4(self));
  return wasm_i32x4_ne(wasm_v128_load(cols + j), vid);
}

// Log-sum-exp of the included entries of one row (-inf when none is included).
static inline float row_lse(int32_t kind, const float* s, const int32_t* cols, int32_t m, int32_t idRow, int32_t self) {
  const v128_t vid = wasm_i32x4_splat(idRow);
  const v128_t ninf = f4(-__builtin_inff());
  v128_t vmax = ninf;
  int32_t j = 0;
  for (; j + 4 <= m; j += 4) vmax = wasm_f32x4_pmax(vmax, wasm_v128_bitselect(wasm_v128_load(s + j), ninf, keep4(kind, cols, j, vid, self)));
  float mx = __builtin_wasm_max_f32(__builtin_wasm_max_f32(wasm_f32x4_extract_lane(vmax, 0), wasm_f32x4_extract_lane(vmax, 1)),
                                    __builtin_wasm_max_f32(wasm_f32x4_extract_lane(vmax, 2), wasm_f32x4_extract_lane(vmax, 3)));
  for (; j < m; j++) if (row_included(kind, idRow, cols[j], j, self) && s[j] > mx) mx = s[j];
  if (mx == -__builtin_inff()) {
    // Every included entry is -inf or NaN (the maximum skips NaN): a NaN row must not pass for an
    // empty one (loss 0), it propagates.
    for (int32_t k = 0; k < m; k++)
      if (row_included(kind, idRow, cols[k], k, self) && s[k] != s[k]) return s[k];
    return mx;
  }
  const v128_t vm = f4(mx);
  v128_t vsum = f4(0.0f);
  j = 0;
  for (; j + 4 <= m; j += 4) {
    v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(s + j), vm));
    vsum = wasm_f32x4_add(vsum, wasm_v128_and(e, keep4(kind, cols, j, vid, self)));
  }
  float sum = (wasm_f32x4_extract_lane(vsum, 0) + wasm_f32x4_extract_lane(vsum, 1)) + (wasm_f32x4_extract_lane(vsum, 2) + wasm_f32x4_extract_lane(vsum, 3));
  for (; j < m; j++) if (row_included(kind, idRow, cols[j], j, self)) sum += wasm_f32x4_extract_lane(exp4(f4(s[j] - mx)), 0);
  return mx + wasm_f32x4_extract_lane(log4(f4(sum)), 0);
}

// The first positive column >= j of a row (same id, not self), or m: blocks of four columns without
// the id are skipped with one comparison, so the scalar work is only on the positives.
static inline int32_t next_positive(const int32_t* cols, int32_t m, int32_t id, int32_t self, int32_t j) {
  const v128_t vid = i4(id);
  while (j < m) {
    if ((j & 3) == 0 && j + 4 <= m && !wasm_v128_any_true(wasm_i32x4_eq(wasm_v128_load(cols + j), vid))) {
      j += 4;
      continue;
    }
    if (cols[j] == id && j != self) return j;
    j++;
  }
  return m;
}

// Rows [rowStart, rowEnd) of n. lseOut (0: none) receives each row's log-sum-exp, for info_nce_row_grads.
EXPORT(info_nce_rows) void info_nce_rows(int32_t kind, const float* s, const int32_t* rows, const int32_t* cols, int32_t n, int32_t m,
                                         int32_t selfStart, float* out, float* lseOut, int32_t rowStart, int32_t rowEnd) {
  (void)n;
  for (int32_t i = rowStart; i < rowEnd; i++) {
    const float* r = s + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    float lse = row_lse(kind, r, cols, m, id, self);
    if (lseOut != 0) lseOut[i] = lse;
    if (lse != lse) {  // a NaN in the row's denominator: the row's loss is NaN
      out[i] = lse;
      continue;
    }
    float loss = 0.0f;
    if (kind == 0) {
      float pos = 0.0f;
      int32_t count = 0;
      for (int32_t j = next_positive(cols, m, id, self, 0); j < m; j = next_positive(cols, m, id, self, j + 1)) { pos += r[j]; count++; }
      if (count > 0) loss = lse - pos / (float)count;
    } else {
      // softplus(lse − s_p) per positive; no negatives (lse −inf) gives 0, and a NaN stays NaN.
      for (int32_t j = next_positive(cols, m, id, self, 0); j < m; j = next_positive(cols, m, id, self, j + 1)) {
        const float x = lse - r[j];
        loss += x != x ? x : x == -__builtin_inff() ? 0.0f : wasm_f32x4_extract_lane(softplus4(f4(x)), 0);
      }
    }
    out[i] = loss;
  }
}

// Rows [rowStart, rowEnd) of n. lseIn (0: recompute) holds the rows' log-sum-exp from info_nce_rows on the same block.
EXPORT(info_nce_row_grads) void info_nce_row_grads(int32_t kind, const float* s, const int32_t* rows, const int32_t* cols, int32_t n,
                                                   int32_t m, int32_t selfStart, const float* dRow, float* g, const float* lseIn,
                                                   int32_t rowStart, int32_t rowEnd) {
  (void)n;
  for (int32_t i = rowStart; i < rowEnd; i++) {
    const float* r = s + (int64_t)i * m;
    float* gr = g + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    float lse = lseIn != 0 ? lseIn[i] : row_lse(kind, r, cols, m, id, self);
    int32_t count = 0;
    float sigmaSum = 0.0f;
    for (int32_t j = next_positive(cols, m, id, self, 0); j < m; j = next_positive(cols, m, id, self, j + 1)) {
      count++;
      if (kind == 1) sigmaSum += 1.0f / (1.0f + wasm_f32x4_extract_lane(exp4(f4(r[j] - lse)), 0));
    }
    const int32_t active = kind == 0 ? count > 0 : lse != -__builtin_inff();
    const float c = active ? dRow[i] : 0.0f;
    // softmax part: scale * exp(s - lse) on included columns, 0 elsewhere.
    const float scale = kind == 0 ? c : c * sigmaSum;
    const v128_t vs = f4(scale), vl = f4(active ? lse : 0.0f), vid = wasm_i32x4_splat(id);
    int32_t j = 0;
    for (; j + 4 <= m; j += 4) {
      v128_t keep = keep4(kind, cols, j, vid, self);
      v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(r + j), vl));
      wasm_v128_store(gr + j, active ? wasm_v128_and(wasm_f32x4_mul(e, vs), keep) : f4(0.0f));
    }
    for (; j < m; j++) gr[j] = active && row_included(kind, id, cols[j], j, self) ? scale * wasm_f32x4_extract_lane(exp4(f4(r[j] - lse)), 0) : 0.0f;
    if (!active) continue;
    // positives part.
    for (int32_t k = next_positive(cols, m, id, self, 0); k < m; k = next_positive(cols, m, id, self, k + 1)) {
      if (kind == 0) gr[k] -= c / (float)count;
      else gr[k] -= c / (1.0f + wasm_f32x4_extract_lane(exp4(f4(r[k] - lse)), 0));
    }
  }
}

// ------------------------------------------------ debiased / hard-negative rows (DCL, HCL)

// The debiased (Chuang et al. 2020) and hard-negative (Robinson et al. 2021) contrastive rows of
// @contrastive/losses' hardNegativeLoss / debiasedContrastiveLoss, one row per pass instead of ~40
// element-wise [c, m] tensors. Row i of s ([n, m] logits x = similarity / τ): negatives are the
// columns of another id (N of them), positives the same-id columns but self. Per row:
//   E = log Σ_neg e^((β+1)x) − log Σ_neg e^(βx)   (β = 0: log Σ_neg e^x − log N),
// and per positive p (τ+ > 0): u = x_p − E + log τ+, the estimate is positive iff u < 0,
//   log Ng = E + log(max(1 − e^min(u, 0), 1e-30)) − log(1 − τ+), floored at −1/τ with `clamp`
//   (no gradient there), z_p = log N + log Ng − x_p; loss_i = [N > 0] Σ_p softplus(z_p) · keep_p
//   (keep = 1 with clamp, else whether the estimate is positive). τ+ = 0: log Ng = E (clamped).
// Gradient (the closed form of the tensor path): with w_p = sigmoid(z_p) keep_p, r_p = active_p
//   e^u/(1 − e^u), A = Σ_p w_p active_p (1 + r_p), B_p = w_p (1 + r_p) (τ+ = 0: A = active Σ w,
//   B = w), dL/dx_j = c (A dE_j − B_j), c = dRow_i [N > 0], dE the softmax derivative of E.
// flags: bit 0 clamp, bit 1 τ+ > 0.

#define DEB_CLAMP 1
#define DEB_TAU_PLUS 2

// One row's negatives: their count, maximum logit and E (NaN when a negative is NaN, or none is finite).
static inline __attribute__((always_inline)) void deb_row_stats(const float* r, const int32_t* cols, int32_t m, int32_t id, float beta,
                                                                int32_t* count, float* mx, float* sumHi, float* sumLo, float* e) {
  const v128_t vid = i4(id), ninf = f4(-__builtin_inff());
  v128_t vmax = ninf, vcount = i4(0);
  int32_t j = 0;
  for (; j + 4 <= m; j += 4) {
    const v128_t neg = wasm_i32x4_ne(wasm_v128_load(cols + j), vid);
    vmax = wasm_f32x4_pmax(vmax, wasm_v128_bitselect(wasm_v128_load(r + j), ninf, neg));
    vcount = wasm_i32x4_sub(vcount, neg);
  }
  float top = __builtin_wasm_max_f32(__builtin_wasm_max_f32(wasm_f32x4_extract_lane(vmax, 0), wasm_f32x4_extract_lane(vmax, 1)),
                                     __builtin_wasm_max_f32(wasm_f32x4_extract_lane(vmax, 2), wasm_f32x4_extract_lane(vmax, 3)));
  int32_t n = wasm_i32x4_extract_lane(vcount, 0) + wasm_i32x4_extract_lane(vcount, 1) + wasm_i32x4_extract_lane(vcount, 2) +
              wasm_i32x4_extract_lane(vcount, 3);
  for (; j < m; j++)
    if (cols[j] != id) {
      n++;
      if (r[j] > top) top = r[j];
    }
  *count = n;
  *mx = top;
  if (n == 0) return;
  if (top == -__builtin_inff()) {  // no finite negative: NaN (a NaN negative, or all −inf)
    *e = __builtin_nanf("");
    return;
  }
  const v128_t vm = f4(top), vhi = f4(beta + 1.0f), vlo = f4(beta);
  v128_t shi = f4(0.0f), slo = f4(0.0f);
  for (j = 0; j + 4 <= m; j += 4) {
    const v128_t neg = wasm_i32x4_ne(wasm_v128_load(cols + j), vid);
    const v128_t d = wasm_f32x4_sub(wasm_v128_load(r + j), vm);
    shi = wasm_f32x4_add(shi, wasm_v128_and(exp4(wasm_f32x4_mul(d, vhi)), neg));
    if (beta != 0.0f) slo = wasm_f32x4_add(slo, wasm_v128_and(exp4(wasm_f32x4_mul(d, vlo)), neg));
  }
  float hi = (wasm_f32x4_extract_lane(shi, 0) + wasm_f32x4_extract_lane(shi, 1)) + (wasm_f32x4_extract_lane(shi, 2) + wasm_f32x4_extract_lane(shi, 3));
  float lo = (wasm_f32x4_extract_lane(slo, 0) + wasm_f32x4_extract_lane(slo, 1)) + (wasm_f32x4_extract_lane(slo, 2) + wasm_f32x4_extract_lane(slo, 3));
  for (; j < m; j++)
    if (cols[j] != id) {
      const float d = r[j] - top;
      hi += wasm_f32x4_extract_lane(exp4(f4(d * (beta + 1.0f))), 0);
      if (beta != 0.0f) lo += wasm_f32x4_extract_lane(exp4(f4(d * beta)), 0);
    }
  if (beta == 0.0f) lo = (float)n;
  *sumHi = hi;
  *sumLo = lo;
  const v128_t logs = log4(wasm_f32x4_make(hi, lo, 0.0f, 0.0f));
  *e = top + (wasm_f32x4_extract_lane(logs, 0) - wasm_f32x4_extract_lane(logs, 1));
}

static inline float scalar_exp(float x) { return wasm_f32x4_extract_lane(exp4(f4(x)), 0); }
static inline float scalar_log(float x) { return wasm_f32x4_extract_lane(log4(f4(x)), 0); }

// One positive's terms: z, keep, active and r (see above).
static inline __attribute__((always_inline)) float deb_pair(float x, float e, float logN, float logTauPlus, float log1mTauPlus, float floorValue,
                                                           int32_t flags, float* keep, float* active, float* ratio) {
  if (x != x || e != e) {  // a NaN logit (or E): everything NaN, as the tensor path's masks
    *keep = *active = *ratio = x != x ? x : e;
    return *keep;
  }
  float logNg;
  if (flags & DEB_TAU_PLUS) {
    const float u = (x - e) + logTauPlus;
    const int32_t positive = -u > 0.0f;
    const float expU = scalar_exp(u < 0.0f ? u : 0.0f);
    float oneMinus = 1.0f - expU;
    if (!(oneMinus >= 1e-30f)) oneMinus = oneMinus != oneMinus ? oneMinus : 1e-30f;
    const float logEstimate = (e + scalar_log(oneMinus)) - log1mTauPlus;
    if (flags & DEB_CLAMP) {
      const float selected = positive ? logEstimate : floorValue;
      logNg = selected > floorValue || selected != selected ? selected : floorValue;
      *active = positive && logEstimate - floorValue > 0.0f ? 1.0f : 0.0f;
      *keep = 1.0f;
    } else {
      logNg = logEstimate;
      *active = positive ? 1.0f : 0.0f;
      *keep = *active;
    }
    *ratio = *active != 0.0f ? expU / oneMinus : 0.0f;
  } else {
    if (flags & DEB_CLAMP) {
      logNg = e > floorValue || e != e ? e : floorValue;
      *active = e - floorValue > 0.0f ? 1.0f : 0.0f;
    } else {
      logNg = e;
      *active = 1.0f;
    }
    *keep = 1.0f;
    *ratio = 0.0f;
  }
  return (logN + logNg) - x;
}

// Rows [rowStart, rowEnd) of n: out[i] = loss_i.
EXPORT(debiased_rows) void debiased_rows(const float* s, const int32_t* rows, const int32_t* cols, int32_t n, int32_t m, int32_t selfStart,
                                         float beta, float logTauPlus, float log1mTauPlus, float floorValue, int32_t flags, float* out,
                                         int32_t rowStart, int32_t rowEnd) {
  (void)n;
  for (int32_t i = rowStart; i < rowEnd; i++) {
    const float* r = s + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    int32_t count = 0;
    float mx = 0.0f, hi = 0.0f, lo = 0.0f, e = 0.0f;
    deb_row_stats(r, cols, m, id, beta, &count, &mx, &hi, &lo, &e);
    if (count == 0) {
      out[i] = 0.0f;
      continue;
    }
    const float logN = scalar_log((float)count);
    float loss = 0.0f;
    for (int32_t p = next_positive(cols, m, id, self, 0); p < m; p = next_positive(cols, m, id, self, p + 1)) {
      float keep, active, ratio;
      const float z = deb_pair(r[p], e, logN, logTauPlus, log1mTauPlus, floorValue, flags, &keep, &active, &ratio);
      loss += wasm_f32x4_extract_lane(softplus4(f4(z)), 0) * keep;
    }
    out[i] = loss;
  }
}

// Rows [rowStart, rowEnd) of n: g[i, :] = dRow_i · d loss_i / d s_i:.
EXPORT(debiased_row_grads) void debiased_row_grads(const float* s, const int32_t* rows, const int32_t* cols, int32_t n, int32_t m,
                                                   int32_t selfStart, float beta, float logTauPlus, float log1mTauPlus, float floorValue,
                                                   int32_t flags, const float* dRow, float* g, int32_t rowStart, int32_t rowEnd) {
  (void)n;
  for (int32_t i = rowStart; i < rowEnd; i++) {
    const float* r = s + (int64_t)i * m;
    float* gr = g + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    int32_t count = 0;
    float mx = 0.0f, hi = 0.0f, lo = 0.0f, e = 0.0f;
    deb_row_stats(r, cols, m, id, beta, &count, &mx, &hi, &lo, &e);
    int32_t j = 0;
    if (count == 0) {
      for (; j < m; j++) gr[j] = 0.0f;
      continue;
    }
    const float logN = scalar_log((float)count);
    // A over the positives; the row's own active flag for τ+ = 0.
    float a = 0.0f, rowActive = 1.0f;
    for (int32_t p = next_positive(cols, m, id, self, 0); p < m; p = next_positive(cols, m, id, self, p + 1)) {
      float keep, active, ratio;
      const float z = deb_pair(r[p], e, logN, logTauPlus, log1mTauPlus, floorValue, flags, &keep, &active, &ratio);
      const float w = keep / (1.0f + scalar_exp(-z));
      if (flags & DEB_TAU_PLUS) a += w * (active + active * ratio);
      else a += w;
      rowActive = active;
    }
    if (!(flags & DEB_TAU_PLUS)) a *= rowActive;
    const float c = dRow[i];
    // c · A · dE over the negatives: dE = (β+1) e^((β+1)(x − mx))/Σhi − β e^(β(x − mx))/Σlo.
    const float kHi = c * a * (beta + 1.0f) / hi, kLo = beta != 0.0f ? c * a * beta / lo : 0.0f;
    const v128_t vid = i4(id), vm = f4(mx), vhi = f4(beta + 1.0f), vlo = f4(beta), vkHi = f4(kHi), vkLo = f4(kLo);
    for (; j + 4 <= m; j += 4) {
      const v128_t neg = wasm_i32x4_ne(wasm_v128_load(cols + j), vid);
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(r + j), vm);
      v128_t v = wasm_f32x4_mul(exp4(wasm_f32x4_mul(d, vhi)), vkHi);
      if (beta != 0.0f) v = wasm_f32x4_sub(v, wasm_f32x4_mul(exp4(wasm_f32x4_mul(d, vlo)), vkLo));
      wasm_v128_store(gr + j, wasm_v128_and(v, neg));
    }
    for (; j < m; j++) {
      if (cols[j] == id) {
        gr[j] = 0.0f;
        continue;
      }
      const float d = r[j] - mx;
      float v = scalar_exp(d * (beta + 1.0f)) * kHi;
      if (beta != 0.0f) v -= scalar_exp(d * beta) * kLo;
      gr[j] = v;
    }
    // − c · B_p at the positives.
    for (int32_t p = next_positive(cols, m, id, self, 0); p < m; p = next_positive(cols, m, id, self, p + 1)) {
      float keep, active, ratio;
      const float z = deb_pair(r[p], e, logN, logTauPlus, log1mTauPlus, floorValue, flags, &keep, &active, &ratio);
      const float w = keep / (1.0f + scalar_exp(-z));
      gr[p] = -c * w * (1.0f + ratio);
    }
  }
}

// ----------------------------------------------------------------------------- transposes

// In-register transpose of the 4 x 4 block held in rows a, b, c, d.
static inline void tr4(v128_t* a, v128_t* b, v128_t* c, v128_t* d) {
  const v128_t t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
  const v128_t t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
  *a = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  *b = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  *c = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  *d = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

// Loads the 4 x 4 block at p (rows `stride` floats apart) transposed: t0..t3 are its columns.
static inline void load_tr4(const float* p, int64_t stride, v128_t* t0, v128_t* t1, v128_t* t2, v128_t* t3) {
  *t0 = wasm_v128_load(p);
  *t1 = wasm_v128_load(p + stride);
  *t2 = wasm_v128_load(p + 2 * stride);
  *t3 = wasm_v128_load(p + 3 * stride);
  tr4(t0, t1, t2, t3);
}

// Transposes run in blocks of TB x TB (TB 16: every destination line is written whole, 64 bytes,
// while its block is in the cache) with the destination rows cut into bands: within a band the
// source rows are swept once, so a block's pages stay in the TLB even when each row is a page or
// more (a 2048 x 2048 matrix: rows 8 KB apart; sweeping every destination row per band of source
// rows took 21 ms, with bands 6 ms less).
#define TB 16
#define TBAND 128

// Rows [iStart, iEnd) of out [ni, nj] = the transpose of in [nj, ni] (out[i][j] = in[j][i]), plus
// add[i][j] when add != 0 (add laid out as out). Source rows in the outer loop, the band's blocks in
// the inner one.
static inline void transpose_band(const uint32_t* in, const float* add, uint32_t* out, int32_t ni, int32_t nj, int32_t iStart, int32_t iEnd) {
  for (int32_t j0 = 0; j0 < nj; j0 += TB) {
    const int32_t j1 = j0 + TB < nj ? j0 + TB : nj;
    for (int32_t i0 = iStart; i0 < iEnd; i0 += TB) {
      const int32_t i1 = i0 + TB < iEnd ? i0 + TB : iEnd;
      if (i1 - i0 == TB && j1 - j0 == TB) {
        for (int32_t i = i0; i < i1; i += 4) {
          for (int32_t j = j0; j < j1; j += 4) {
            v128_t t0, t1, t2, t3;
            load_tr4((const float*)(in + (int64_t)j * ni + i), ni, &t0, &t1, &t2, &t3);
            if (add != 0) {
              t0 = wasm_f32x4_add(wasm_v128_load(add + (int64_t)i * nj + j), t0);
              t1 = wasm_f32x4_add(wasm_v128_load(add + (int64_t)(i + 1) * nj + j), t1);
              t2 = wasm_f32x4_add(wasm_v128_load(add + (int64_t)(i + 2) * nj + j), t2);
              t3 = wasm_f32x4_add(wasm_v128_load(add + (int64_t)(i + 3) * nj + j), t3);
            }
            wasm_v128_store(out + (int64_t)i * nj + j, t0);
            wasm_v128_store(out + (int64_t)(i + 1) * nj + j, t1);
            wasm_v128_store(out + (int64_t)(i + 2) * nj + j, t2);
            wasm_v128_store(out + (int64_t)(i + 3) * nj + j, t3);
          }
        }
      } else if (add != 0) {
        const float* f = (const float*)in;
        for (int32_t i = i0; i < i1; i++)
          for (int32_t j = j0; j < j1; j++) ((float*)out)[(int64_t)i * nj + j] = add[(int64_t)i * nj + j] + f[(int64_t)j * ni + i];
      } else {
        for (int32_t i = i0; i < i1; i++)
          for (int32_t j = j0; j < j1; j++) out[(int64_t)i * nj + j] = in[(int64_t)j * ni + i];
      }
    }
  }
}

// dst[b][c][r] = src[b][r][c] for `batch` matrices [rows, cols] of 4-byte values.
EXPORT(transpose32) void transpose32(const uint32_t* src, int32_t batch, int32_t rows, int32_t cols, uint32_t* dst) {
  for (int32_t b = 0; b < batch; b++) {
    const uint32_t* s = src + (int64_t)b * rows * cols;
    uint32_t* d = dst + (int64_t)b * rows * cols;
    for (int32_t c0 = 0; c0 < cols; c0 += TBAND) transpose_band(s, 0, d, cols, rows, c0, c0 + TBAND < cols ? c0 + TBAND : cols);
  }
}

// Rows [rowStart, rowEnd) of dst [cols, rows], the transpose of src [rows, cols] (4-byte values):
// transpose32 of one matrix, cut into row ranges for the kernel pool.
EXPORT(transpose32_rows) void transpose32_rows(const uint32_t* src, int32_t rows, int32_t cols, uint32_t* dst, int32_t rowStart, int32_t rowEnd) {
  for (int32_t c0 = rowStart; c0 < rowEnd; c0 += TBAND) transpose_band(src, 0, dst, cols, rows, c0, c0 + TBAND < rowEnd ? c0 + TBAND : rowEnd);
}

// out = g + transpose(g) for a square [n, n] matrix (the gradient of a loss on A·Aᵀ with respect
// to A is (G + Gᵀ)·A: one matrix product instead of two); out = a + transpose(b) with b != a (the
// two directions of a symmetric cross-entropy). Rows [rowStart, rowEnd) of the output.
EXPORT(add_transpose) void add_transpose(const float* a, const float* b, float* out, int32_t n, int32_t rowStart, int32_t rowEnd) {
  for (int32_t i0 = rowStart; i0 < rowEnd; i0 += TBAND)
    transpose_band((const uint32_t*)b, a, (uint32_t*)out, n, n, i0, i0 + TBAND < rowEnd ? i0 + TBAND : rowEnd);
}

// Sum over leading axes: out[o, c] = sum over r of x[o, r, c] for x viewed as [outer, summed, inner]
// (the bias gradient of a dense or conv layer), accumulated in float64 (f64x2 lanes, 16 columns a
// pass) as the JavaScript kernel it replaces, rounded once.
static inline v128_t hi_to_f64(v128_t v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)); }

EXPORT(sum_leading) void sum_leading(const float* x, float* out, int32_t outer, int32_t summed, int32_t inner) {
  for (int32_t o = 0; o < outer; o++) {
    const float* base = x + (int64_t)o * summed * inner;
    float* dst = out + (int64_t)o * inner;
    int32_t c0 = 0;
    for (; c0 + 16 <= inner; c0 += 16) {
      v128_t a0 = wasm_f64x2_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (int32_t r = 0; r < summed; r++) {
        const float* row = base + (int64_t)r * inner + c0;
        v128_t v0 = wasm_v128_load(row), v1 = wasm_v128_load(row + 4), v2 = wasm_v128_load(row + 8), v3 = wasm_v128_load(row + 12);
        a0 = wasm_f64x2_add(a0, wasm_f64x2_promote_low_f32x4(v0));
        a1 = wasm_f64x2_add(a1, hi_to_f64(v0));
        a2 = wasm_f64x2_add(a2, wasm_f64x2_promote_low_f32x4(v1));
        a3 = wasm_f64x2_add(a3, hi_to_f64(v1));
        a4 = wasm_f64x2_add(a4, wasm_f64x2_promote_low_f32x4(v2));
        a5 = wasm_f64x2_add(a5, hi_to_f64(v2));
        a6 = wasm_f64x2_add(a6, wasm_f64x2_promote_low_f32x4(v3));
        a7 = wasm_f64x2_add(a7, hi_to_f64(v3));
      }
      v128_t r0 = wasm_f32x4_demote_f64x2_zero(a0), r1 = wasm_f32x4_demote_f64x2_zero(a1);
      v128_t r2 = wasm_f32x4_demote_f64x2_zero(a2), r3 = wasm_f32x4_demote_f64x2_zero(a3);
      v128_t r4 = wasm_f32x4_demote_f64x2_zero(a4), r5 = wasm_f32x4_demote_f64x2_zero(a5);
      v128_t r6 = wasm_f32x4_demote_f64x2_zero(a6), r7 = wasm_f32x4_demote_f64x2_zero(a7);
      wasm_v128_store(dst + c0, wasm_i32x4_shuffle(r0, r1, 0, 1, 4, 5));
      wasm_v128_store(dst + c0 + 4, wasm_i32x4_shuffle(r2, r3, 0, 1, 4, 5));
      wasm_v128_store(dst + c0 + 8, wasm_i32x4_shuffle(r4, r5, 0, 1, 4, 5));
      wasm_v128_store(dst + c0 + 12, wasm_i32x4_shuffle(r6, r7, 0, 1, 4, 5));
    }
    for (; c0 + 4 <= inner; c0 += 4) {
      v128_t a0 = wasm_f64x2_splat(0), a1 = a0;
      for (int32_t r = 0; r < summed; r++) {
        v128_t v = wasm_v128_load(base + (int64_t)r * inner + c0);
        a0 = wasm_f64x2_add(a0, wasm_f64x2_promote_low_f32x4(v));
        a1 = wasm_f64x2_add(a1, hi_to_f64(v));
      }
      wasm_v128_store(dst + c0, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(a0), wasm_f32x4_demote_f64x2_zero(a1), 0, 1, 4, 5));
    }
    for (; c0 < inner; c0++) {
      double t = 0.0;
      for (int32_t r = 0; r < summed; r++) t += base[(int64_t)r * inner + c0];
      dst[c0] = (float)t;
    }
  }
}

// ------------------------------------------------------------------------ euclidean distances

// The last step of a Euclidean distance matrix from a Gram block: out_ij = sqrt(relu((sqL_i +
// sqR_j) - 2 g_ij)), the float operations and their order as the tensor ops it replaces (add,
// mul by 2, sub, relu, sqrt; relu keeps a NaN). selfDiag: the matrix of a set against itself,
// whose diagonal is multiplied by 0 (0 for a finite value, NaN otherwise, as the tensor path's
// product with an off-diagonal mask).
// Row i of euclid_finish: o_j = sqrt(relu((sqLi + sqR_j) - 2 gr_j)).
static inline void euclid_row(const float* gr, float sqLi, const float* sqR, int32_t m, float* o) {
  const v128_t zero = f4(0.0f), two = f4(2.0f), li = f4(sqLi);
  int32_t j = 0;
  for (; j + 4 <= m; j += 4) {
    v128_t s = wasm_f32x4_sub(wasm_f32x4_add(li, wasm_v128_load(sqR + j)), wasm_f32x4_mul(wasm_v128_load(gr + j), two));
    s = wasm_v128_bitselect(zero, s, wasm_f32x4_lt(s, zero));
    wasm_v128_store(o + j, wasm_f32x4_sqrt(s));
  }
  for (; j < m; j++) {
    float s = (sqLi + sqR[j]) - gr[j] * 2.0f;
    o[j] = __builtin_sqrtf(s < 0.0f ? 0.0f : s);
  }
}

EXPORT(euclid_finish) void euclid_finish(const float* g, const float* sqL, const float* sqR, int32_t n, int32_t m, int32_t selfDiag, float* out) {
  for (int32_t i = 0; i < n; i++) {
    float* o = out + (int64_t)i * m;
    euclid_row(g + (int64_t)i * m, sqL[i], sqR, m, o);
    if (selfDiag && i < m) o[i] = o[i] * 0.0f;
  }
}

// The gradient of euclid_finish with respect to its pre-root value: out_ij = d_ij > 0 ?
// dy_ij / (d_ij * 2) : 0, dy of the diagonal multiplied by 0 first when selfDiag.
EXPORT(euclid_finish_grad) void euclid_finish_grad(const float* d, const float* dy, int32_t n, int32_t m, int32_t selfDiag, float* out) {
  const v128_t zero = f4(0.0f), two = f4(2.0f), one = f4(1.0f);
  for (int32_t i = 0; i < n; i++) {
    const float* dr = d + (int64_t)i * m;
    const float* yr = dy + (int64_t)i * m;
    float* o = out + (int64_t)i * m;
    int32_t j = 0;
    for (; j + 4 <= m; j += 4) {
      v128_t v = wasm_v128_load(dr + j);
      v128_t pos = wasm_f32x4_gt(v, zero);
      v128_t safe = wasm_v128_bitselect(v, one, pos);
      wasm_v128_store(o + j, wasm_v128_and(wasm_f32x4_div(wasm_v128_load(yr + j), wasm_f32x4_mul(safe, two)), pos));
    }
    for (; j < m; j++) o[j] = dr[j] > 0.0f ? yr[j] / (dr[j] * 2.0f) : 0.0f;
    if (selfDiag && i < m) o[i] = dr[i] > 0.0f ? (yr[i] * 0.0f) / (dr[i] * 2.0f) : 0.0f;
  }
}

// --------------------------------------------------------------------------------- row mining

// Index of the first NaN or infinity among x[0..count), or -1.
EXPORT(first_non_finite) int32_t first_non_finite(const float* x, int32_t count) {
  const v128_t expMask = i4(0x7f800000);
  int32_t k = 0;
  for (; k + 16 <= count; k += 16) {
    v128_t a = wasm_v128_and(wasm_v128_load(x + k), expMask), b = wasm_v128_and(wasm_v128_load(x + k + 4), expMask);
    v128_t c = wasm_v128_and(wasm_v128_load(x + k + 8), expMask), e = wasm_v128_and(wasm_v128_load(x + k + 12), expMask);
    v128_t bad = wasm_v128_or(wasm_v128_or(wasm_i32x4_eq(a, expMask), wasm_i32x4_eq(b, expMask)),
                              wasm_v128_or(wasm_i32x4_eq(c, expMask), wasm_i32x4_eq(e, expMask)));
    if (wasm_v128_any_true(bad)) break;
  }
  for (; k < count; k++) {
    union { float f; uint32_t u; } v = { x[k] };
    if ((v.u & 0x7f800000u) == 0x7f800000u) return k;
  }
  return -1;
}

// One pick per row i of an [n, m] distance (or similarity) matrix v: among the candidate columns j
// — positives (side 0: refLabels[j] == labels[i], j != i when selfPairs) or negatives (side 1:
// refLabels[j] != labels[i]) — with a raw value in [low, high] and, when thr != 0, a distance
// strictly on the correct side of thr[i] (below it when taking the largest, above it otherwise),
// the column of the largest (largest != 0) or smallest distance; distances are raw values, negated
// for a similarity (isSim). Ties keep the first column; a NaN is never picked. outIndex[i] = -1
// when there is no candidate; outValue[i] = the picked distance.
EXPORT(pick_rows) void pick_rows(const float* v, const int32_t* labels, const int32_t* refLabels, int32_t n, int32_t m, int32_t selfPairs,
                                 int32_t side, int32_t largest, int32_t isSim, double low, double high, const float* thr,
                                 int32_t* outIndex, float* outValue) {
  const int32_t unbounded = low == -__builtin_inf() && high == __builtin_inf();
  for (int32_t i = 0; i < n; i++) {
    const float* row = v + (int64_t)i * m;
    const int32_t li = labels[i];
    const int32_t self = selfPairs ? i : -1;
    const float t = thr != 0 ? thr[i] : 0.0f;
    float best = 0.0f;
    int32_t bestIndex = -1;
    for (int32_t j = 0; j < m; j++) {
      const int32_t same = refLabels[j] == li;
      if (side == 0 ? (!same || j == self) : same) continue;
      const float raw = row[j];
      if (!unbounded && !((double)raw >= low && (double)raw <= high)) continue;
      const float dist = isSim ? -raw : raw;
      if (thr != 0 && !(largest ? dist < t : dist > t)) continue;
      if (bestIndex < 0 ? dist == dist : largest ? dist > best : dist < best) {
        best = dist;
        bestIndex = j;
      }
    }
    outIndex[i] = bestIndex;
    outValue[i] = bestIndex >= 0 ? best : 0.0f;
  }
}

// ----------------------------------------------------------------------------------- gather

// out[o, i, :] = x[o, idx[i], :] for x viewed as [outer, axisSize, inner] of 4-byte values (GatherV2
// with batchDims 0), one block copy per index. Returns -1, or the position of the first index
// outside [0, axisSize) (nothing written then).
EXPORT(gather32) int32_t gather32(const uint32_t* x, const int32_t* idx, int32_t outer, int32_t axisSize, int32_t count, int32_t inner,
                                  uint32_t* out) {
  for (int32_t i = 0; i < count; i++) if (idx[i] < 0 || idx[i] >= axisSize) return i;
  const int64_t bytes = (int64_t)inner * 4;
  for (int32_t o = 0; o < outer; o++) {
    const uint32_t* src = x + (int64_t)o * axisSize * inner;
    uint32_t* dst = out + (int64_t)o * count * inner;
    if (inner == 1) {
      for (int32_t i = 0; i < count; i++) dst[i] = src[idx[i]];
    } else {
      for (int32_t i = 0; i < count; i++) __builtin_memcpy(dst + (int64_t)i * inner, src + (int64_t)idx[i] * inner, bytes);
    }
  }
  return -1;
}

// ------------------------------------------------------------------------- pair margin loss

// PML's ContrastiveLoss (Hadsell et al. 2006) over every pair of an [n, m] distance (or
// similarity, isSim) matrix v: a positive pair (same label; not j == i when selfPairs) costs
// relu(v - posMargin) (similarity: relu(posMargin - v)), a negative pair relu(negMargin - v)
// (similarity: relu(v - negMargin)), each difference rounded to float32 as the tensor ops do.
// out (float64): positive sum, positive non-zero count, negative sum, negative non-zero count; all
// four NaN when v holds a NaN.
// Lanes j..j+3 of one row of a pair-margin loss (vl: the row's label, vself: its own column or -1):
// the values d, the positive and negative losses pl / nl (rounded to float32 as the tensor ops do),
// and the positive / negative pairs whose loss is non-zero, pOn / nOn.
typedef struct {
  v128_t d, pl, nl, pOn, nOn;
} MarginLanes;

static inline __attribute__((always_inline)) MarginLanes margin_lanes(const float* row, const int32_t* refLabels, int32_t j, v128_t vl, v128_t vself,
                                                                      int32_t isSim, v128_t pm, v128_t nm) {
  const v128_t zero = f4(0.0f);
  MarginLanes l;
  l.d = wasm_v128_load(row + j);
  const v128_t same = wasm_i32x4_eq(wasm_v128_load(refLabels + j), vl);
  const v128_t pos = wasm_v128_andnot(same, wasm_i32x4_eq(wasm_i32x4_add(i4(j), wasm_i32x4_make(0, 1, 2, 3)), vself));
  l.pl = isSim ? wasm_f32x4_sub(pm, l.d) : wasm_f32x4_sub(l.d, pm);
  l.nl = isSim ? wasm_f32x4_sub(l.d, nm) : wasm_f32x4_sub(nm, l.d);
  l.pOn = wasm_v128_and(pos, wasm_f32x4_gt(l.pl, zero));
  l.nOn = wasm_v128_andnot(wasm_f32x4_gt(l.nl, zero), same);
  return l;
}

// One row of pair_margin_sums (self: the column excluded as the row's own pair, or -1): its
// positive and negative sums and non-zero counts, and whether the row holds a NaN.
typedef struct {
  double pos, neg;
  int64_t posCount, negCount;
  int32_t nan;
} MarginRow;

static inline __attribute__((always_inline)) MarginRow margin_row(const float* row, int32_t li, const int32_t* refLabels, int32_t m, int32_t self, int32_t isSim, float posMargin,
                                                                   float negMargin) {
  const v128_t zero = f4(0.0f), pm = f4(posMargin), nm = f4(negMargin);
  const v128_t vl = i4(li), vself = i4(self);
  v128_t ps = zero, ns = zero, pc = i4(0), nc = i4(0), bad = i4(0);
  MarginRow r = {0.0, 0.0, 0, 0, 0};
  int32_t j = 0;
  for (; j + 4 <= m; j += 4) {
    const MarginLanes l = margin_lanes(row, refLabels, j, vl, vself, isSim, pm, nm);
    ps = wasm_f32x4_add(ps, wasm_v128_and(l.pl, l.pOn));
    ns = wasm_f32x4_add(ns, wasm_v128_and(l.nl, l.nOn));
    pc = wasm_i32x4_sub(pc, l.pOn);
    nc = wasm_i32x4_sub(nc, l.nOn);
    bad = wasm_v128_or(bad, wasm_f32x4_ne(l.d, l.d));
  }
  for (int32_t k = 0; k < 4; k++) {
    float a, b;
    __builtin_memcpy(&a, (const char*)&ps + 4 * k, 4);
    __builtin_memcpy(&b, (const char*)&ns + 4 * k, 4);
    r.pos += a;
    r.neg += b;
  }
  r.posCount = wasm_i32x4_extract_lane(pc, 0) + wasm_i32x4_extract_lane(pc, 1) + wasm_i32x4_extract_lane(pc, 2) + wasm_i32x4_extract_lane(pc, 3);
  r.negCount = wasm_i32x4_extract_lane(nc, 0) + wasm_i32x4_extract_lane(nc, 1) + wasm_i32x4_extract_lane(nc, 2) + wasm_i32x4_extract_lane(nc, 3);
  r.nan = wasm_v128_any_true(bad);
  for (; j < m; j++) {
    const float d = row[j];
    if (d != d) r.nan = 1;
    if (refLabels[j] == li) {
      if (j == self) continue;
      const float l = isSim ? posMargin - d : d - posMargin;
      if (l > 0.0f) { r.pos += l; r.posCount++; }
    } else {
      const float l = isSim ? d - negMargin : negMargin - d;
      if (l > 0.0f) { r.neg += l; r.negCount++; }
    }
  }
  return r;
}

EXPORT(pair_margin_sums) void pair_margin_sums(const float* v, const int32_t* labels, const int32_t* refLabels, int32_t n, int32_t m,
                                               int32_t selfPairs, int32_t isSim, float posMargin, float negMargin, double* out) {
  double posSum = 0.0, negSum = 0.0;
  int64_t posCount = 0, negCount = 0;
  int32_t nan = 0;
  for (int32_t i = 0; i < n; i++) {
    const MarginRow r = margin_row(v + (int64_t)i * m, labels[i], refLabels, m, selfPairs ? i : -1, isSim, posMargin, negMargin);
    posSum += r.pos;
    negSum += r.neg;
    posCount += r.posCount;
    negCount += r.negCount;
    nan |= r.nan;
  }
  const double q = nan ? __builtin_nan("") : 0.0;
  out[0] = posSum + q;
  out[1] = (double)posCount + q;
  out[2] = negSum + q;
  out[3] = (double)negCount + q;
}

// The gradient of posScale * positive sum + negScale * negative sum of pair_margin_sums with
// respect to v: ±posScale on the positive pairs with a non-zero loss, ±negScale on such negatives
// (+ for a distance's positives and a similarity's negatives), 0 elsewhere.
EXPORT(pair_margin_grad) void pair_margin_grad(const float* v, const int32_t* labels, const int32_t* refLabels, int32_t n, int32_t m,
                                               int32_t selfPairs, int32_t isSim, float posMargin, float negMargin, float posScale,
                                               float negScale, float* out) {
  const v128_t pm = f4(posMargin), nm = f4(negMargin);
  const float pg = isSim ? -posScale : posScale, ng = isSim ? negScale : -negScale;
  const v128_t vpg = f4(pg), vng = f4(ng);
  for (int32_t i = 0; i < n; i++) {
    const float* row = v + (int64_t)i * m;
    float* o = out + (int64_t)i * m;
    const int32_t li = labels[i];
    const v128_t vl = i4(li), self = i4(selfPairs ? i : -1);
    int32_t j = 0;
    for (; j + 4 <= m; j += 4) {
      const MarginLanes l = margin_lanes(row, refLabels, j, vl, self, isSim, pm, nm);
      wasm_v128_store(o + j, wasm_v128_or(wasm_v128_and(vpg, l.pOn), wasm_v128_and(vng, l.nOn)));
    }
    for (; j < m; j++) {
      const float d = row[j];
      float g = 0.0f;
      if (refLabels[j] == li) {
        if (!(selfPairs && j == i) && (isSim ? posMargin - d : d - posMargin) > 0.0f) g = pg;
      } else if ((isSim ? d - negMargin : negMargin - d) > 0.0f) {
        g = ng;
      }
      o[j] = g;
    }
  }
}

// ---------------------------------------------------------------------------------- matmul

// Packs B for gemm_packed: panels of 8 columns of the product, each [k][8] (zero-padded past n).
// transposed == 0: B is [k, n] (C = A·B); transposed != 0: B is [n, k] (C = A·Bᵀ).
EXPORT(gemm_pack) void gemm_pack(const float* b, int32_t k, int32_t n, int32_t transposed, float* packed) {
  for (int32_t j0 = 0; j0 < n; j0 += 8) {
    float* panel = packed + (int64_t)j0 * k;
    const int32_t w = n - j0 < 8 ? n - j0 : 8;
    int32_t p = 0;
    if (transposed && w == 8) {
      // Rows j0..j0+7 of B, 4 columns at a time: two transposed 4 x 4 loads give the panel's 4 rows.
      for (; p + 4 <= k; p += 4) {
        v128_t a0, a1, a2, a3, b0, b1, b2, b3;
        load_tr4(b + (int64_t)j0 * k + p, k, &a0, &a1, &a2, &a3);
        load_tr4(b + (int64_t)(j0 + 4) * k + p, k, &b0, &b1, &b2, &b3);
        float* dst = panel + (int64_t)p * 8;
        wasm_v128_store(dst, a0); wasm_v128_store(dst + 4, b0);
        wasm_v128_store(dst + 8, a1); wasm_v128_store(dst + 12, b1);
        wasm_v128_store(dst + 16, a2); wasm_v128_store(dst + 20, b2);
        wasm_v128_store(dst + 24, a3); wasm_v128_store(dst + 28, b3);
      }
    }
    for (; p < k; p++) {
      float* dst = panel + (int64_t)p * 8;
      if (!transposed && w == 8) {
        wasm_v128_store(dst, wasm_v128_load(b + (int64_t)p * n + j0));
        wasm_v128_store(dst + 4, wasm_v128_load(b + (int64_t)p * n + j0 + 4));
        continue;
      }
      for (int32_t c = 0; c < 8; c++) dst[c] = c < w ? (transposed ? b[(int64_t)(j0 + c) * k + p] : b[(int64_t)p * n + j0 + c]) : 0.0f;
    }
  }
}

// Stores the first w (1..8) of the 8 values held in lo, hi.
static inline void store_row8(float* dst, v128_t lo, v128_t hi, int32_t w) {
  if (w == 8) {
    wasm_v128_store(dst, lo);
    wasm_v128_store(dst + 4, hi);
    return;
  }
  if (w >= 4) {
    wasm_v128_store(dst, lo);
    lo = hi;
    dst += 4;
    w -= 4;
  }
  if (w > 0) dst[0] = wasm_f32x4_extract_lane(lo, 0);
  if (w > 1) dst[1] = wasm_f32x4_extract_lane(lo, 1);
  if (w > 2) dst[2] = wasm_f32x4_extract_lane(lo, 2);
}

// Rows i..i+h-1 (h = 1..4) of A packed as [k][4] into ap: lane r of 4-float group p is A[i + r][p]
// (0 for r >= h). transposedA: A is stored [k, m], so a group is 4 consecutive floats of row p.
static inline void pack_strip(const float* a, int32_t transposedA, int32_t m, int32_t k, int32_t i, int32_t h, float* ap) {
  if (transposedA) {
    const float* src = a + i;
    if (h == 4) {
      for (int32_t p = 0; p < k; p++) wasm_v128_store(ap + 4 * p, wasm_v128_load(src + (int64_t)p * m));
    } else {
      for (int32_t p = 0; p < k; p++)
        for (int32_t r = 0; r < 4; r++) ap[4 * p + r] = r < h ? src[(int64_t)p * m + r] : 0.0f;
    }
    return;
  }
  const float* row = a + (int64_t)i * k;
  int32_t p = 0;
  if (h == 4) {
    for (; p + 4 <= k; p += 4) {
      v128_t t0, t1, t2, t3;
      load_tr4(row + p, k, &t0, &t1, &t2, &t3);
      wasm_v128_store(ap + 4 * p, t0);
      wasm_v128_store(ap + 4 * p + 4, t1);
      wasm_v128_store(ap + 4 * p + 8, t2);
      wasm_v128_store(ap + 4 * p + 12, t3);
    }
  }
  for (; p < k; p++)
    for (int32_t r = 0; r < 4; r++) ap[4 * p + r] = r < h ? row[(int64_t)r * k + p] : 0.0f;
}

// Lane r of v in all four lanes.
#define LANE(v, r) wasm_i32x4_shuffle(v, v, r, r, r, r)

// C[rowStart..rowEnd) = alpha · (A·B) over packed B panels (gemm_pack): 4 x 8 register tiles,
// products summed in order p = 0..k-1 per element, then multiplied by alpha once (as a separate
// product would round it). upper != 0 (a Gram matrix A·Aᵀ): only the tiles that reach the
// diagonal or above are computed; gemm_mirror fills the rest. transposedA: A is stored [k, m].
//
// Each strip of 4 rows of A is first packed (pack_strip) into apack + i·k, its own place, so the
// inner loop reads one vector of A per step and spreads its lanes by shuffles: with B's two
// vectors, 3 loads, 4 shuffles and 8 multiply-adds per step, every address a loop pointer plus
// a constant (the build folds the constants into the loads' offsets). Broadcast loads instead
// (one per row, each address computed apart) cost about a third more instructions per
// multiply-add; where a second hyperthread shares the core, instructions are what runs short
// (measured 23 → 27-32 GFLOP/s per thread then; the same when the core is free).
EXPORT(gemm_packed) void gemm_packed(const float* a, int32_t transposedA, float* apack, const float* packed, int32_t m, int32_t n, int32_t k,
                                     float* c, int32_t rowStart, int32_t rowEnd, int32_t upper, float alpha) {
  const v128_t va = f4(alpha);
  for (int32_t i = rowStart; i < rowEnd; i += 4) {
    const int32_t h = rowEnd - i < 4 ? rowEnd - i : 4;
    float* ap = apack + (int64_t)i * k;
    pack_strip(a, transposedA, m, k, i, h, ap);
    for (int32_t j0 = upper ? (i & ~7) : 0; j0 < n; j0 += 8) {
      const float* b = packed + (int64_t)j0 * k;
      const float* x = ap;
      v128_t c00 = f4(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (int32_t p = 0; p < k; p++) {
        const v128_t av = wasm_v128_load(x), b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        const v128_t x0 = LANE(av, 0), x1 = LANE(av, 1), x2 = LANE(av, 2), x3 = LANE(av, 3);
        MADD_4X8(c, x0, x1, x2, x3, b0, b1)
        x += 4;
        b += 8;
      }
      const int32_t w = n - j0 < 8 ? n - j0 : 8;
      if (alpha != 1.0f) {
        c00 = wasm_f32x4_mul(c00, va); c01 = wasm_f32x4_mul(c01, va); c10 = wasm_f32x4_mul(c10, va); c11 = wasm_f32x4_mul(c11, va);
        c20 = wasm_f32x4_mul(c20, va); c21 = wasm_f32x4_mul(c21, va); c30 = wasm_f32x4_mul(c30, va); c31 = wasm_f32x4_mul(c31, va);
      }
      store_row8(c + (int64_t)i * n + j0, c00, c01, w);
      if (h > 1) store_row8(c + (int64_t)(i + 1) * n + j0, c10, c11, w);
      if (h > 2) store_row8(c + (int64_t)(i + 2) * n + j0, c20, c21, w);
      if (h > 3) store_row8(c + (int64_t)(i + 3) * n + j0, c30, c31, w);
    }
  }
}

// Below the diagonal of a square Gram matrix from above it: c[i][j] = c[j][i] for j < i, rows
// [rowStart, rowEnd) in bands of TBAND rows, in TB x TB blocks of 4 x 4 register transposes (source rows in the outer
// loop, as transpose_band); the blocks that reach the diagonal element by element.
static inline void mirror_band(float* c, int32_t n, int32_t rowStart, int32_t rowEnd) {
  for (int32_t j0 = 0; j0 < rowEnd - 1; j0 += TB) {
    const int32_t j1 = j0 + TB < n ? j0 + TB : n;
    for (int32_t i0 = rowStart; i0 < rowEnd; i0 += TB) {
      const int32_t i1 = i0 + TB < rowEnd ? i0 + TB : rowEnd;
      if (j1 <= i0 && i1 - i0 == TB && j1 - j0 == TB) {
        for (int32_t i = i0; i < i1; i += 4) {
          for (int32_t j = j0; j < j1; j += 4) {
            v128_t t0, t1, t2, t3;
            load_tr4(c + (int64_t)j * n + i, n, &t0, &t1, &t2, &t3);
            wasm_v128_store(c + (int64_t)i * n + j, t0);
            wasm_v128_store(c + (int64_t)(i + 1) * n + j, t1);
            wasm_v128_store(c + (int64_t)(i + 2) * n + j, t2);
            wasm_v128_store(c + (int64_t)(i + 3) * n + j, t3);
          }
        }
      } else {
        for (int32_t i = i0; i < i1; i++)
          for (int32_t j = j0; j < j1 && j < i; j++) c[(int64_t)i * n + j] = c[(int64_t)j * n + i];
      }
    }
  }
}

EXPORT(gemm_mirror) void gemm_mirror(float* c, int32_t n, int32_t rowStart, int32_t rowEnd) {
  for (int32_t i0 = rowStart; i0 < rowEnd; i0 += TBAND) mirror_band(c, n, i0, i0 + TBAND < rowEnd ? i0 + TBAND : rowEnd);
}

// --------------------------------------------------------------------------- L2 normalization

// y_i = x_i / max(||x_i||, eps) per row of x [n, d]; norm_i = ||x_i|| (sum of squares in float32,
// lanes then their sum, then sqrt).
EXPORT(l2_normalize) void l2_normalize(const float* x, int32_t n, int32_t d, float eps, float* y, float* norm) {
  for (int32_t i = 0; i < n; i++) {
    const float* r = x + (int64_t)i * d;
    float* o = y + (int64_t)i * d;
    v128_t acc = f4(0.0f);
    int32_t j = 0;
    for (; j + 4 <= d; j += 4) {
      const v128_t v = wasm_v128_load(r + j);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, v));
    }
    float s = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) + (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
    for (; j < d; j++) s += r[j] * r[j];
    const float nr = __builtin_sqrtf(s);
    norm[i] = nr;
    const float c = __builtin_wasm_max_f32(nr, eps);
    const v128_t vc = f4(c);
    for (j = 0; j + 4 <= d; j += 4) wasm_v128_store(o + j, wasm_f32x4_div(wasm_v128_load(r + j), vc));
    for (; j < d; j++) o[j] = r[j] / c;
  }
}

// The gradient of l2_normalize: dx_i = (dy_i - y_i <dy_i, y_i>) / norm_i where norm_i > eps, dy_i / eps
// elsewhere.
EXPORT(l2_normalize_grad) void l2_normalize_grad(const float* y, const float* dy, const float* norm, int32_t n, int32_t d, float eps, float* dx) {
  for (int32_t i = 0; i < n; i++) {
    const float* yr = y + (int64_t)i * d;
    const float* gr = dy + (int64_t)i * d;
    float* o = dx + (int64_t)i * d;
    const float nr = norm[i];
    if (!(nr > eps)) {
      const v128_t ve = f4(eps);
      int32_t j = 0;
      for (; j + 4 <= d; j += 4) wasm_v128_store(o + j, wasm_f32x4_div(wasm_v128_load(gr + j), ve));
      for (; j < d; j++) o[j] = gr[j] / eps;
      continue;
    }
    v128_t acc = f4(0.0f);
    int32_t j = 0;
    for (; j + 4 <= d; j += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(gr + j), wasm_v128_load(yr + j)));
    float dot = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) + (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
    for (; j < d; j++) dot += gr[j] * yr[j];
    const v128_t vdot = f4(dot), vn = f4(nr);
    for (j = 0; j + 4 <= d; j += 4) {
      const v128_t yv = wasm_v128_load(yr + j);
      wasm_v128_store(o + j, wasm_f32x4_div(wasm_f32x4_sub(wasm_v128_load(gr + j), wasm_f32x4_mul(yv, vdot)), vn));
    }
    for (; j < d; j++) o[j] = (gr[j] - yr[j] * dot) / nr;
  }
}

// The self-distance case of euclid_finish_grad, symmetrised: out = dS + dSᵀ with dS_ij = d_ij > 0 ?
// dy_ij / (d_ij * 2) : 0 (the diagonal's dy times 0 first), and rowSums_i = Σ_j out_ij (float32,
// four lanes in column order, then their sum). The gradient of a loss on the Euclidean matrix of
// x with itself is then 2 x ⊙ rowSums - 2 out · x. Rows [rowStart, rowEnd), a multiple of 4 apart.
static inline float hsum4(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static inline v128_t finish_grad4(v128_t d, v128_t dy) {
  const v128_t pos = wasm_f32x4_gt(d, f4(0.0f));
  const v128_t safe = wasm_v128_bitselect(d, f4(1.0f), pos);
  return wasm_v128_and(wasm_f32x4_div(dy, wasm_f32x4_mul(safe, f4(2.0f))), pos);
}

static inline float finish_grad1(float d, float dy) { return d > 0.0f ? dy / (d * 2.0f) : 0.0f; }

EXPORT(euclid_grad_sym) void euclid_grad_sym(const float* d, const float* dy, int32_t n, float* out, float* rowSums, int32_t rowStart, int32_t rowEnd) {
  for (int32_t i = rowStart; i < rowEnd; i += 4) {
    const int32_t h = rowEnd - i < 4 ? rowEnd - i : 4;
    if (h < 4) {
      for (int32_t r = i; r < i + h; r++) {
        float s = 0.0f;
        for (int32_t j = 0; j < n; j++) {
          const float dyij = r == j ? dy[(int64_t)r * n + j] * 0.0f : dy[(int64_t)r * n + j];
          const float dyji = r == j ? dyij : dy[(int64_t)j * n + r];
          const float v = finish_grad1(d[(int64_t)r * n + j], dyij) + finish_grad1(d[(int64_t)j * n + r], dyji);
          out[(int64_t)r * n + j] = v;
          s += v;
        }
        rowSums[r] = s;
      }
      continue;
    }
    v128_t acc0 = f4(0.0f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    float tail0 = 0.0f, tail1 = 0.0f, tail2 = 0.0f, tail3 = 0.0f;
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
      // rows i..i+3 at columns j..j+3, and rows j..j+3 at columns i..i+3 transposed.
      v128_t d0 = wasm_v128_load(d + (int64_t)i * n + j), d1 = wasm_v128_load(d + (int64_t)(i + 1) * n + j);
      v128_t d2 = wasm_v128_load(d + (int64_t)(i + 2) * n + j), d3 = wasm_v128_load(d + (int64_t)(i + 3) * n + j);
      v128_t y0 = wasm_v128_load(dy + (int64_t)i * n + j), y1 = wasm_v128_load(dy + (int64_t)(i + 1) * n + j);
      v128_t y2 = wasm_v128_load(dy + (int64_t)(i + 2) * n + j), y3 = wasm_v128_load(dy + (int64_t)(i + 3) * n + j);
      v128_t e0, e1, e2, e3, z0, z1, z2, z3;
      load_tr4(d + (int64_t)j * n + i, n, &e0, &e1, &e2, &e3);
      load_tr4(dy + (int64_t)j * n + i, n, &z0, &z1, &z2, &z3);
      if (j == i) {
        // the diagonal block: dy_rr times 0 on both sides.
        y0 = wasm_i32x4_replace_lane(y0, 0, 0); y1 = wasm_i32x4_replace_lane(y1, 1, 0);
        y2 = wasm_i32x4_replace_lane(y2, 2, 0); y3 = wasm_i32x4_replace_lane(y3, 3, 0);
        z0 = wasm_i32x4_replace_lane(z0, 0, 0); z1 = wasm_i32x4_replace_lane(z1, 1, 0);
        z2 = wasm_i32x4_replace_lane(z2, 2, 0); z3 = wasm_i32x4_replace_lane(z3, 3, 0);
      }
      const v128_t o0 = wasm_f32x4_add(finish_grad4(d0, y0), finish_grad4(e0, z0));
      const v128_t o1 = wasm_f32x4_add(finish_grad4(d1, y1), finish_grad4(e1, z1));
      const v128_t o2 = wasm_f32x4_add(finish_grad4(d2, y2), finish_grad4(e2, z2));
      const v128_t o3 = wasm_f32x4_add(finish_grad4(d3, y3), finish_grad4(e3, z3));
      wasm_v128_store(out + (int64_t)i * n + j, o0);
      wasm_v128_store(out + (int64_t)(i + 1) * n + j, o1);
      wasm_v128_store(out + (int64_t)(i + 2) * n + j, o2);
      wasm_v128_store(out + (int64_t)(i + 3) * n + j, o3);
      acc0 = wasm_f32x4_add(acc0, o0);
      acc1 = wasm_f32x4_add(acc1, o1);
      acc2 = wasm_f32x4_add(acc2, o2);
      acc3 = wasm_f32x4_add(acc3, o3);
    }
    for (; j < n; j++) {
      for (int32_t r = 0; r < 4; r++) {
        const int32_t row = i + r;
        const float v = finish_grad1(d[(int64_t)row * n + j], dy[(int64_t)row * n + j]) + finish_grad1(d[(int64_t)j * n + row], dy[(int64_t)j * n + row]);
        out[(int64_t)row * n + j] = v;
        if (r == 0) tail0 += v; else if (r == 1) tail1 += v; else if (r == 2) tail2 += v; else tail3 += v;
      }
    }
    rowSums[i] = hsum4(acc0) + tail0;
    rowSums[i + 1] = hsum4(acc1) + tail1;
    rowSums[i + 2] = hsum4(acc2) + tail2;
    rowSums[i + 3] = hsum4(acc3) + tail3;
  }
}

// ------------------------------------------------------------------------------ Relu gradient

// dx = dy * step(x) with step = 1 for x > 0, 0 for x <= 0, NaN for NaN: the product tfjs's Relu
// gradient forms from Step, Cast and Multiply, bit for bit, in one pass.
EXPORT(relu_grad) void relu_grad(const float* x, const float* dy, float* dx, int32_t n) {
  const v128_t one = f4(1.0f), zero = f4(0.0f);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    v128_t s = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(v, zero));
    s = wasm_v128_bitselect(v, s, wasm_f32x4_ne(v, v));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (; i < n; i++) {
    const float v = x[i];
    dx[i] = dy[i] * (v != v ? v : v > 0.0f ? 1.0f : 0.0f);
  }
}

// ------------------------------------------------------------------------- triplet margin loss

static inline float row_distance(const float* x, const float* y, int32_t d) {
  v128_t acc = f4(0.0f);
  int32_t k = 0;
  for (; k + 4 <= d; k += 4) {
    const v128_t diff = wasm_f32x4_sub(wasm_v128_load(x + k), wasm_v128_load(y + k));
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(diff, diff));
  }
  float s = hsum4(acc);
  for (; k < d; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
  return __builtin_sqrtf(s < 0.0f ? 0.0f : s);
}

// dst += g (x - y) / dist (0 when dist is 0, as safeSqrt's gradient).
static inline void add_direction(float* dst, const float* x, const float* y, int32_t d, float g, float dist) {
  if (!(dist > 0.0f)) return;
  const float c = g / dist;
  const v128_t vc = f4(c);
  int32_t k = 0;
  for (; k + 4 <= d; k += 4) {
    const v128_t diff = wasm_f32x4_sub(wasm_v128_load(x + k), wasm_v128_load(y + k));
    wasm_v128_store(dst + k, wasm_f32x4_add(wasm_v128_load(dst + k), wasm_f32x4_mul(diff, vc)));
  }
  for (; k < d; k++) dst[k] += (x[k] - y[k]) * c;
}

// PML's TripletMarginLoss on the Euclidean distances of rows u [n, d] (Schroff et al. 2015):
// loss_t = relu((d(a, p) - d_neg) + margin), d_neg = d(a, n), or min(d(a, n), d(p, n)) with swap.
// sums (when not 0, float64): the sum of the losses and the number of non-zero ones. du (when not
// 0, [n, d], zeroed by the caller): the gradient of scale · Σ loss_t, accumulated in triplet order;
// a tie of the swap's minimum goes to d(a, n), as the gradient of tf.minimum does.
EXPORT(triplet_margin) void triplet_margin(const float* u, int32_t d, const int32_t* anchor, const int32_t* positive, const int32_t* negative,
                                           int32_t t, float margin, int32_t swap, double* sums, float scale, float* du) {
  double sum = 0.0;
  int64_t count = 0;
  for (int32_t q = 0; q < t; q++) {
    const float* ua = u + (int64_t)anchor[q] * d;
    const float* up = u + (int64_t)positive[q] * d;
    const float* un = u + (int64_t)negative[q] * d;
    const float dap = row_distance(ua, up, d);
    const float dan = row_distance(ua, un, d);
    const float dpn = swap ? row_distance(up, un, d) : 0.0f;
    const int32_t useSwap = swap && dpn < dan;
    const float loss = (dap - (useSwap ? dpn : dan)) + margin;
    if (!(loss > 0.0f)) continue;
    sum += loss;
    count++;
    if (du == 0) continue;
    float* ga = du + (int64_t)anchor[q] * d;
    float* gp = du + (int64_t)positive[q] * d;
    float* gn = du + (int64_t)negative[q] * d;
    add_direction(ga, ua, up, d, scale, dap);
    add_direction(gp, up, ua, d, scale, dap);
    if (useSwap) {
      add_direction(gp, up, un, d, -scale, dpn);
      add_direction(gn, un, up, d, -scale, dpn);
    } else {
      add_direction(ga, ua, un, d, -scale, dan);
      add_direction(gn, un, ua, d, -scale, dan);
    }
  }
  if (sums != 0) {
    sums[0] = sum;
    sums[1] = (double)count;
  }
}

// ---------------------------------------------- contrastive loss on the Euclidean self-distances

// Rows [rowStart, rowEnd) of the Euclidean matrix of rows x [n, d] with themselves from their Gram
// matrix g and squared norms sq (d_ij = sqrt(relu((sq_i + sq_j) - 2 g_ij)), the diagonal times 0,
// as euclid_finish), written to dist, and each row's pair_margin_sums over it (self pairs, a
// distance) in the same pass: rowSums[4 i ..] = positive sum, positive count, negative sum,
// negative count, all four NaN when the row holds a NaN. Summed over the rows in order they are
// pair_margin_sums' four values, bit for bit.
EXPORT(contrastive_self_rows) void contrastive_self_rows(const float* g, const float* sq, const int32_t* labels, int32_t n, float posMargin,
                                                         float negMargin, float* dist, double* rowSums, int32_t rowStart, int32_t rowEnd) {
  for (int32_t i = rowStart; i < rowEnd; i++) {
    float* o = dist + (int64_t)i * n;
    euclid_row(g + (int64_t)i * n, sq[i], sq, n, o);
    o[i] = o[i] * 0.0f;
    const MarginRow r = margin_row(o, labels[i], labels, n, i, 0, posMargin, negMargin);
    const double q = r.nan ? __builtin_nan("") : 0.0;
    rowSums[4 * (int64_t)i] = r.pos + q;
    rowSums[4 * (int64_t)i + 1] = (double)r.posCount + q;
    rowSums[4 * (int64_t)i + 2] = r.neg + q;
    rowSums[4 * (int64_t)i + 3] = (double)r.negCount + q;
  }
}

// The backward pass of contrastive_self_rows's loss posScale · Σpos + negScale · Σneg with
// respect to the pre-root values, symmetrised: out_ij = 2 h_ij, h_ij = (+posScale on an active
// positive pair, -negScale on an active negative pair) / (2 d_ij) where d_ij > 0, else 0 — for a
// symmetric dist and labels h_ij = h_ji, so this is dS + dSᵀ — and rowSums_i = Σ_j out_ij (float32
// lanes in column order, then their sum). Rows [rowStart, rowEnd).
EXPORT(contrastive_self_backward) void contrastive_self_backward(const float* dist, const int32_t* labels, int32_t n, float posMargin, float negMargin,
                                                                 float posScale, float negScale, float* out, float* rowSums, int32_t rowStart,
                                                                 int32_t rowEnd) {
  const v128_t zero = f4(0.0f), pm = f4(posMargin), nm = f4(negMargin), lane = wasm_i32x4_make(0, 1, 2, 3);
  const v128_t vpg = f4(posScale), vng = f4(-negScale), two = f4(2.0f), one = f4(1.0f);
  for (int32_t i = rowStart; i < rowEnd; i++) {
    const float* row = dist + (int64_t)i * n;
    float* o = out + (int64_t)i * n;
    const v128_t vl = i4(labels[i]), self = i4(i);
    v128_t acc = zero;
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const v128_t d = wasm_v128_load(row + j);
      const v128_t same = wasm_i32x4_eq(wasm_v128_load(labels + j), vl);
      const v128_t pos = wasm_v128_andnot(same, wasm_i32x4_eq(wasm_i32x4_add(i4(j), lane), self));
      const v128_t pOn = wasm_v128_and(pos, wasm_f32x4_gt(wasm_f32x4_sub(d, pm), zero));
      const v128_t nOn = wasm_v128_andnot(wasm_f32x4_gt(wasm_f32x4_sub(nm, d), zero), same);
      const v128_t dy = wasm_v128_or(wasm_v128_and(vpg, pOn), wasm_v128_and(vng, nOn));
      const v128_t positive = wasm_f32x4_gt(d, zero);
      const v128_t safe = wasm_v128_bitselect(d, one, positive);
      const v128_t h = wasm_v128_and(wasm_f32x4_div(dy, wasm_f32x4_mul(safe, two)), positive);
      const v128_t v = wasm_f32x4_add(h, h);
      wasm_v128_store(o + j, v);
      acc = wasm_f32x4_add(acc, v);
    }
    float tail = 0.0f;
    for (; j < n; j++) {
      const float d = row[j];
      float dy = 0.0f;
      if (labels[j] == labels[i]) {
        if (j != i && d - posMargin > 0.0f) dy = posScale;
      } else if (negMargin - d > 0.0f) {
        dy = -negScale;
      }
      const float h = d > 0.0f ? dy / (d * 2.0f) : 0.0f;
      o[j] = h + h;
      tail += h + h;
    }
    rowSums[i] = hsum4(acc) + tail;
  }
}

// ------------------------------------------------------------ Winograd F(2x2, 3x3) convolution
//
// A 3x3 convolution, stride 1, padding 1 on each side ("same"), NHWC, by Winograd's minimal
// filtering F(2x2, 3x3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks"):
// each 2x2 output tile is Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over its 4x4 input patch d, so per tile and
// channel pair 16 products instead of 36. Summed over the input channels, the element-wise products
// become 16 matrix products M_ξ = V_ξ · U_ξ ([tiles, C] · [C, K]), run in 4 x 8 register tiles.
// The input channels C must be a multiple of 4, the output channels K of 8.

// U [16][K / 8][C][8] (the transformed filter, in panels of 8 output channels for the products)
// from g [3][3][C][K] (HWIO): U = G g Gᵀ with G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
EXPORT(wino_filter) void wino_filter(const float* g, int32_t C, int32_t K, float* U) {
  const v128_t half = f4(0.5f);
  const int64_t tap = (int64_t)C * K;
  for (int32_t c = 0; c < C; c++) {
    for (int32_t k = 0; k < K; k += 4) {
      const float* p = g + (int64_t)c * K + k;
      v128_t w[3][3], t[4][3];
      for (int32_t i = 0; i < 3; i++)
        for (int32_t j = 0; j < 3; j++) w[i][j] = wasm_v128_load(p + (i * 3 + j) * tap);
      for (int32_t j = 0; j < 3; j++) {
        t[0][j] = w[0][j];
        t[1][j] = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(w[0][j], w[1][j]), w[2][j]), half);
        t[2][j] = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_sub(w[0][j], w[1][j]), w[2][j]), half);
        t[3][j] = w[2][j];
      }
      // Panel k / 8, lanes k % 8 .. k % 8 + 3 of row c.
      float* q = U + ((int64_t)(k >> 3) * C + c) * 8 + (k & 7);
      const int64_t xi = (int64_t)C * K;
      for (int32_t i = 0; i < 4; i++) {
        const v128_t u0 = t[i][0];
        const v128_t u1 = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_add(t[i][0], t[i][1]), t[i][2]), half);
        const v128_t u2 = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_sub(t[i][0], t[i][1]), t[i][2]), half);
        const v128_t u3 = t[i][2];
        wasm_v128_store(q + (i * 4 + 0) * xi, u0);
        wasm_v128_store(q + (i * 4 + 1) * xi, u1);
        wasm_v128_store(q + (i * 4 + 2) * xi, u2);
        wasm_v128_store(q + (i * 4 + 3) * xi, u3);
      }
    }
  }
}

// Tiles per block: V [16][WINO_TILES][C] and M [16][WINO_TILES][K] of one block live in the
// chunk's scratch, each ξ's matrix WINO_PAD floats past the previous one's end (at a whole 4 or 8 KB
// apart, the 16 rows a transform reads or writes at once would share one L1 cache set).
#define WINO_TILES 32
#define WINO_PAD 16

// V_ξ rows for tiles [t0, t0 + n) of the batch: Bᵀ d B with Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0],
// [0, -1, 1, 0], [0, 1, 0, -1]], d the 4x4 patch at (2 ty - 1, 2 tx - 1), zero outside the image.
__attribute__((noinline)) static void wino_input(const float* x, float* V, int64_t t0, int32_t n, int32_t H, int32_t W, int32_t C, int32_t tilesX,
                              int32_t perImage) {
  const v128_t zero = f4(0.0f);
  for (int32_t r = 0; r < n; r++) {
    const int64_t t = t0 + r;
    const int64_t b = t / perImage;
    const int32_t within = (int32_t)(t - b * perImage);
    const int32_t y0 = 2 * (within / tilesX) - 1, x0 = 2 * (within % tilesX) - 1;
    const float* image = x + b * H * W * C;
    // Bit i: patch row (column) i lies inside the image.
    int32_t rowOk = 0, colOk = 0;
    for (int32_t i = 0; i < 4; i++) {
      rowOk |= (y0 + i >= 0 && y0 + i < H) << i;
      colOk |= (x0 + i >= 0 && x0 + i < W) << i;
    }
    const int32_t inside = rowOk == 15 && colOk == 15;
    for (int32_t c = 0; c < C; c += 4) {
      v128_t d[4][4], t4[4][4];
      const float* origin = image + ((int64_t)y0 * W + x0) * C + c;
      if (inside) {
        for (int32_t i = 0; i < 4; i++)
          for (int32_t j = 0; j < 4; j++) d[i][j] = wasm_v128_load(origin + ((int64_t)i * W + j) * C);
      } else {
        for (int32_t i = 0; i < 4; i++)
          for (int32_t j = 0; j < 4; j++) d[i][j] = (rowOk >> i) & (colOk >> j) & 1 ? wasm_v128_load(origin + ((int64_t)i * W + j) * C) : zero;
      }
      for (int32_t j = 0; j < 4; j++) {
        t4[0][j] = wasm_f32x4_sub(d[0][j], d[2][j]);
        t4[1][j] = wasm_f32x4_add(d[1][j], d[2][j]);
        t4[2][j] = wasm_f32x4_sub(d[2][j], d[1][j]);
        t4[3][j] = wasm_f32x4_sub(d[1][j], d[3][j]);
      }
      float* v = V + (int64_t)r * C + c;
      const int64_t xi = (int64_t)WINO_TILES * C + WINO_PAD;
      for (int32_t i = 0; i < 4; i++) {
        wasm_v128_store(v + (i * 4 + 0) * xi, wasm_f32x4_sub(t4[i][0], t4[i][2]));
        wasm_v128_store(v + (i * 4 + 1) * xi, wasm_f32x4_add(t4[i][1], t4[i][2]));
        wasm_v128_store(v + (i * 4 + 2) * xi, wasm_f32x4_sub(t4[i][2], t4[i][1]));
        wasm_v128_store(v + (i * 4 + 3) * xi, wasm_f32x4_sub(t4[i][1], t4[i][3]));
      }
    }
  }
}

// M_ξ [n, K] = V_ξ [n, C] · U_ξ [C, K] for the 16 ξ, 4 x 8 register tiles summed over c in order.
// (Not inlined into wino_conv3x3: V8 allocates the tile's registers better in a function of its own,
// 33 instead of 48 ms for the reference CNN's second convolution on one thread. U_ξ is in
// gemm_pack's panel layout, but calling gemm_packed per ξ measured 6 % slower on these small
// products, 34.0 against 32.0 ms, so the tile loop is its own here.)
__attribute__((noinline)) static void wino_products(const float* V, const float* U, float* M, int32_t n, int32_t C, int32_t K) {
  for (int32_t xi = 0; xi < 16; xi++) {
    const float* v = V + (int64_t)xi * (WINO_TILES * C + WINO_PAD);
    const float* u = U + (int64_t)xi * C * K;
    float* m = M + (int64_t)xi * (WINO_TILES * K + WINO_PAD);
    for (int32_t i = 0; i < n; i += 4) {
      const int32_t h = n - i < 4 ? n - i : 4;
      const float* a0 = v + (int64_t)i * C;
      const float* a1 = v + (int64_t)(i + (h > 1 ? 1 : 0)) * C;
      const float* a2 = v + (int64_t)(i + (h > 2 ? 2 : 0)) * C;
      const float* a3 = v + (int64_t)(i + (h > 3 ? 3 : 0)) * C;
      for (int32_t k0 = 0; k0 < K; k0 += 8) {
        const float* panel = u + (int64_t)k0 * C;
        v128_t c00 = f4(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int32_t p = 0; p < C; p++) {
          const v128_t b0 = wasm_v128_load(panel + p * 8), b1 = wasm_v128_load(panel + p * 8 + 4);
          const v128_t x0 = wasm_v128_load32_splat(a0 + p), x1 = wasm_v128_load32_splat(a1 + p);
          const v128_t x2 = wasm_v128_load32_splat(a2 + p), x3 = wasm_v128_load32_splat(a3 + p);
          MADD_4X8(c, x0, x1, x2, x3, b0, b1)
        }
        float* o = m + (int64_t)i * K + k0;
        wasm_v128_store(o, c00);
        wasm_v128_store(o + 4, c01);
        if (h > 1) { wasm_v128_store(o + K, c10); wasm_v128_store(o + K + 4, c11); }
        if (h > 2) { wasm_v128_store(o + 2 * K, c20); wasm_v128_store(o + 2 * K + 4, c21); }
        if (h > 3) { wasm_v128_store(o + 3 * K, c30); wasm_v128_store(o + 3 * K + 4, c31); }
      }
    }
  }
}

// The 2x2 outputs (before any bias) of block row r, channels k..k+3: Aᵀ M A with
// Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
static inline void wino_tile_out(const float* M, int32_t r, int32_t k, int32_t K, v128_t* o00, v128_t* o01, v128_t* o10, v128_t* o11) {
  v128_t m[4][4], s[2][4];
  const float* src = M + (int64_t)r * K + k;
  const int64_t xi = (int64_t)WINO_TILES * K + WINO_PAD;
  for (int32_t i = 0; i < 4; i++)
    for (int32_t j = 0; j < 4; j++) m[i][j] = wasm_v128_load(src + (i * 4 + j) * xi);
  for (int32_t j = 0; j < 4; j++) {
    s[0][j] = wasm_f32x4_add(wasm_f32x4_add(m[0][j], m[1][j]), m[2][j]);
    s[1][j] = wasm_f32x4_sub(wasm_f32x4_sub(m[1][j], m[2][j]), m[3][j]);
  }
  *o00 = wasm_f32x4_add(wasm_f32x4_add(s[0][0], s[0][1]), s[0][2]);
  *o01 = wasm_f32x4_sub(wasm_f32x4_sub(s[0][1], s[0][2]), s[0][3]);
  *o10 = wasm_f32x4_add(wasm_f32x4_add(s[1][0], s[1][1]), s[1][2]);
  *o11 = wasm_f32x4_sub(wasm_f32x4_sub(s[1][1], s[1][2]), s[1][3]);
}

// The 2x2 outputs of tiles [t0, t0 + n): Aᵀ M A with Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]], plus the
// bias (when given), then ReLU (relu != 0); outputs past the image's edge (odd H or W) are dropped.
__attribute__((noinline)) static void wino_output(const float* M, const float* bias, int32_t relu, float* y, int64_t t0, int32_t n, int32_t H, int32_t W,
                               int32_t K, int32_t tilesX, int32_t perImage) {
  const v128_t zero = f4(0.0f);
  for (int32_t r = 0; r < n; r++) {
    const int64_t t = t0 + r;
    const int64_t b = t / perImage;
    const int32_t within = (int32_t)(t - b * perImage);
    const int32_t oy = 2 * (within / tilesX), ox = 2 * (within % tilesX);
    const int32_t h = oy + 1 < H ? 2 : 1, w = ox + 1 < W ? 2 : 1;
    float* out = y + ((b * H + oy) * W + ox) * K;
    for (int32_t k = 0; k < K; k += 4) {
      v128_t o[2][2];
      wino_tile_out(M, r, k, K, &o[0][0], &o[0][1], &o[1][0], &o[1][1]);
      const v128_t bk = bias ? wasm_v128_load(bias + k) : zero;
      for (int32_t a = 0; a < 2; a++) {
        v128_t o0 = wasm_f32x4_add(o[a][0], bk);
        v128_t o1 = wasm_f32x4_add(o[a][1], bk);
        if (relu) {
          o0 = wasm_f32x4_pmax(zero, o0);
          o1 = wasm_f32x4_pmax(zero, o1);
        }
        if (a < h) {
          float* row = out + (int64_t)a * W * K + k;
          wasm_v128_store(row, o0);
          if (w > 1) wasm_v128_store(row + K, o1);
        }
      }
    }
  }
}

// The first maximum of four values (row-major order, as tfjs's max pool) per lane, then ReLU:
// out = max > 0 ? max : 0, and its window position 0..3 in `mask` (-1 where the output is 0, which
// passes no gradient).
static inline void pool_relu4(v128_t o00, v128_t o01, v128_t o10, v128_t o11, float* out, int32_t* mask) {
  v128_t m = o00, idx = i4(0);
  v128_t gt = wasm_f32x4_gt(o01, m);
  m = wasm_v128_bitselect(o01, m, gt);
  idx = wasm_v128_bitselect(i4(1), idx, gt);
  gt = wasm_f32x4_gt(o10, m);
  m = wasm_v128_bitselect(o10, m, gt);
  idx = wasm_v128_bitselect(i4(2), idx, gt);
  gt = wasm_f32x4_gt(o11, m);
  m = wasm_v128_bitselect(o11, m, gt);
  idx = wasm_v128_bitselect(i4(3), idx, gt);
  const v128_t on = wasm_f32x4_gt(m, f4(0.0f));
  wasm_v128_store(out, wasm_v128_and(m, on));
  wasm_v128_store(mask, wasm_v128_bitselect(idx, i4(-1), on));
}

// wino_output for the fused block: each tile's 2x2 outputs (+ bias) are one max-pool window; the
// pooled, ReLU'd value goes to y [batch, H / 2, W / 2, K] and the window position to mask (see
// pool_relu4). Tiles past the pooled grid (odd H or W) are skipped.
__attribute__((noinline)) static void wino_output_pool(const float* M, const float* bias, float* y, int32_t* mask, int64_t t0, int32_t n,
                                                       int32_t H, int32_t W, int32_t K, int32_t tilesX, int32_t perImage) {
  const int32_t PH = H / 2, PW = W / 2;
  for (int32_t r = 0; r < n; r++) {
    const int64_t t = t0 + r;
    const int64_t b = t / perImage;
    const int32_t within = (int32_t)(t - b * perImage);
    const int32_t py = within / tilesX, px = within % tilesX;
    if (py >= PH || px >= PW) continue;
    const int64_t at = ((b * PH + py) * PW + px) * K;
    for (int32_t k = 0; k < K; k += 4) {
      v128_t o00, o01, o10, o11;
      wino_tile_out(M, r, k, K, &o00, &o01, &o10, &o11);
      const v128_t bk = wasm_v128_load(bias + k);
      pool_relu4(wasm_f32x4_add(o00, bk), wasm_f32x4_add(o01, bk), wasm_f32x4_add(o10, bk), wasm_f32x4_add(o11, bk), y + at + k, mask + at + k);
    }
  }
}

// y [batch, H, W, K] = conv3x3(x [batch, H, W, C], g) (+ bias [K], then ReLU when relu != 0), with
// U = wino_filter(g). With a mask (the fused block conv -> bias -> ReLU -> 2x2 max-pool): y is the
// pooled [batch, H / 2, W / 2, K] and mask its window positions (wino_output_pool); bias required. The batch's tiles (ceil(H / 2) x ceil(W / 2) per image, in image-row order)
// are cut into `chunks` fixed ranges (guided_start); chunk c computes its tiles in blocks of WINO_TILES with the
// scratch at scratch + c * 16 * (WINO_TILES * (C + K) + 2 * WINO_PAD) floats, chunks
// [chunkStart, chunkEnd) here.
// Every output depends on its own tile only, so the result does not depend on the chunks.
EXPORT(wino_conv3x3) void wino_conv3x3(const float* x, const float* U, const float* bias, int32_t relu, float* y, int32_t* mask,
                                       float* scratch, int32_t batch, int32_t H, int32_t W, int32_t C, int32_t K, int32_t chunks,
                                       int32_t chunkStart, int32_t chunkEnd) {
  const int32_t tilesX = (W + 1) / 2, perImage = ((H + 1) / 2) * tilesX;
  const int64_t total = (int64_t)batch * perImage;
  for (int32_t c = chunkStart; c < chunkEnd; c++) {
    float* V = scratch + (int64_t)c * 16 * (WINO_TILES * (C + K) + 2 * WINO_PAD);
    float* M = V + (int64_t)16 * (WINO_TILES * C + WINO_PAD);
    const int64_t end = guided_start(total, c + 1, chunks);
    for (int64_t t0 = guided_start(total, c, chunks); t0 < end; t0 += WINO_TILES) {
      const int32_t n = end - t0 < WINO_TILES ? (int32_t)(end - t0) : WINO_TILES;
      wino_input(x, V, t0, n, H, W, C, tilesX, perImage);
      wino_products(V, U, M, n, C, K);
      if (mask) wino_output_pool(M, bias, y, mask, t0, n, H, W, K, tilesX, perImage);
      else wino_output(M, bias, relu, y, t0, n, H, W, K, tilesX, perImage);
    }
  }
}

// The Winograd filter gradient. With M_ξ = V_ξ · U_ξ and y = Aᵀ M A per tile, the gradient of a
// tile's M is dM = A dY Aᵀ (dY its 2x2 output gradient, zero past the image's edge), so
// dU_ξ = Σ_tiles V_ξᵀ · dM_ξ and dg = Gᵀ dU G.

// dM rows of tiles [t0, t0 + n): D [16][WINO_TILES][K] (rows WINO_PAD apart as V and M).
__attribute__((noinline)) static void wino_grad_output(const float* dy, float* D, int64_t t0, int32_t n, int32_t H, int32_t W, int32_t K,
                                                       int32_t tilesX, int32_t perImage) {
  const v128_t zero = f4(0.0f);
  const int64_t xi = (int64_t)WINO_TILES * K + WINO_PAD;
  for (int32_t r = 0; r < n; r++) {
    const int64_t t = t0 + r;
    const int64_t b = t / perImage;
    const int32_t within = (int32_t)(t - b * perImage);
    const int32_t oy = 2 * (within / tilesX), ox = 2 * (within % tilesX);
    const int32_t h = oy + 1 < H, w = ox + 1 < W;  // second row, column inside
    const float* g = dy + ((b * H + oy) * W + ox) * K;
    for (int32_t k = 0; k < K; k += 4) {
      const v128_t g00 = wasm_v128_load(g + k);
      const v128_t g01 = w ? wasm_v128_load(g + K + k) : zero;
      const v128_t g10 = h ? wasm_v128_load(g + (int64_t)W * K + k) : zero;
      const v128_t g11 = h && w ? wasm_v128_load(g + (int64_t)W * K + K + k) : zero;
      // A dY: rows [g0, g0 + g1, g0 - g1, -g1] of the two columns.
      v128_t a[4][2];
      a[0][0] = g00; a[0][1] = g01;
      a[1][0] = wasm_f32x4_add(g00, g10); a[1][1] = wasm_f32x4_add(g01, g11);
      a[2][0] = wasm_f32x4_sub(g00, g10); a[2][1] = wasm_f32x4_sub(g01, g11);
      a[3][0] = wasm_f32x4_neg(g10); a[3][1] = wasm_f32x4_neg(g11);
      float* d = D + (int64_t)r * K + k;
      for (int32_t i = 0; i < 4; i++) {
        wasm_v128_store(d + (i * 4 + 0) * xi, a[i][0]);
        wasm_v128_store(d + (i * 4 + 1) * xi, wasm_f32x4_add(a[i][0], a[i][1]));
        wasm_v128_store(d + (i * 4 + 2) * xi, wasm_f32x4_sub(a[i][0], a[i][1]));
        wasm_v128_store(d + (i * 4 + 3) * xi, wasm_f32x4_neg(a[i][1]));
      }
    }
  }
}

// acc_ξ [C, K] += V_ξᵀ · D_ξ over the block's n tiles (4 x 8 register tiles, tiles summed in order).
__attribute__((noinline)) static void wino_filter_products(const float* V, const float* D, float* acc, int32_t n, int32_t C, int32_t K) {
  for (int32_t xi = 0; xi < 16; xi++) {
    const float* v = V + (int64_t)xi * (WINO_TILES * C + WINO_PAD);
    const float* d = D + (int64_t)xi * (WINO_TILES * K + WINO_PAD);
    float* a = acc + (int64_t)xi * C * K;
    for (int32_t c = 0; c < C; c += 4) {
      for (int32_t k0 = 0; k0 < K; k0 += 8) {
        v128_t c00 = f4(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int32_t t = 0; t < n; t++) {
          const v128_t b0 = wasm_v128_load(d + t * K + k0), b1 = wasm_v128_load(d + t * K + k0 + 4);
          const float* vr = v + t * C + c;
          const v128_t x0 = wasm_v128_load32_splat(vr), x1 = wasm_v128_load32_splat(vr + 1);
          const v128_t x2 = wasm_v128_load32_splat(vr + 2), x3 = wasm_v128_load32_splat(vr + 3);
          MADD_4X8(c, x0, x1, x2, x3, b0, b1)
        }
        float* o = a + (int64_t)c * K + k0;
#define WINO_ACC(row, lo, hi)                                                              \
  wasm_v128_store(o + (row) * K, wasm_f32x4_add(wasm_v128_load(o + (row) * K), lo));         \
  wasm_v128_store(o + (row) * K + 4, wasm_f32x4_add(wasm_v128_load(o + (row) * K + 4), hi));
        WINO_ACC(0, c00, c01) WINO_ACC(1, c10, c11) WINO_ACC(2, c20, c21) WINO_ACC(3, c30, c31)
#undef WINO_ACC
      }
    }
  }
}

// The filter gradient's Winograd-domain sums per chunk: chunk c (tiles as wino_conv3x3) adds its
// tiles into its own float32 dU [16][C][K] at scratch + c * per + 16 * (WINO_TILES * (C + K) +
// 2 * WINO_PAD), per = that offset + 16 * C * K floats; chunks [chunkStart, chunkEnd) here.
EXPORT(wino_filter_grad) void wino_filter_grad(const float* x, const float* dy, float* scratch, int32_t batch, int32_t H, int32_t W, int32_t C,
                                               int32_t K, int32_t chunks, int32_t chunkStart, int32_t chunkEnd) {
  const int32_t tilesX = (W + 1) / 2, perImage = ((H + 1) / 2) * tilesX;
  const int64_t total = (int64_t)batch * perImage;
  const int64_t work = (int64_t)16 * (WINO_TILES * (C + K) + 2 * WINO_PAD);
  const int64_t per = work + (int64_t)16 * C * K;
  for (int32_t c = chunkStart; c < chunkEnd; c++) {
    float* V = scratch + c * per;
    float* D = V + (int64_t)16 * (WINO_TILES * C + WINO_PAD);
    float* acc = V + work;
    for (int64_t i = 0; i < (int64_t)16 * C * K; i += 4) wasm_v128_store(acc + i, f4(0.0f));
    const int64_t end = guided_start(total, c + 1, chunks);
    for (int64_t t0 = guided_start(total, c, chunks); t0 < end; t0 += WINO_TILES) {
      const int32_t n = end - t0 < WINO_TILES ? (int32_t)(end - t0) : WINO_TILES;
      wino_input(x, V, t0, n, H, W, C, tilesX, perImage);
      wino_grad_output(dy, D, t0, n, H, W, K, tilesX, perImage);
      wino_filter_products(V, D, acc, n, C, K);
    }
  }
}

// dW [3][3][C][K] from the chunks' dU sums (wino_filter_grad): the chunks added in order in float64,
// then dg = Gᵀ dU G, rounded once.
EXPORT(wino_filter_grad_finish) void wino_filter_grad_finish(const float* scratch, int32_t chunks, int32_t C, int32_t K, float* dW) {
  const int64_t plane = (int64_t)C * K;
  const int64_t per = (int64_t)16 * (WINO_TILES * (C + K) + 2 * WINO_PAD) + 16 * plane;
  const float* acc = scratch + per - 16 * plane;
  for (int64_t e = 0; e < plane; e++) {
    double u[16];
    for (int32_t xi = 0; xi < 16; xi++) {
      double s = 0.0;
      for (int32_t c = 0; c < chunks; c++) s += acc[c * per + xi * plane + e];
      u[xi] = s;
    }
    // Gᵀ dU G with Gᵀ = [[1, ½, ½, 0], [0, ½, -½, 0], [0, ½, ½, 1]].
    double t[3][4];
    for (int32_t j = 0; j < 4; j++) {
      t[0][j] = u[j] + 0.5 * (u[4 + j] + u[8 + j]);
      t[1][j] = 0.5 * (u[4 + j] - u[8 + j]);
      t[2][j] = 0.5 * (u[4 + j] + u[8 + j]) + u[12 + j];
    }
    for (int32_t i = 0; i < 3; i++) {
      dW[(i * 3 + 0) * plane + e] = (float)(t[i][0] + 0.5 * (t[i][1] + t[i][2]));
      dW[(i * 3 + 1) * plane + e] = (float)(0.5 * (t[i][1] - t[i][2]));
      dW[(i * 3 + 2) * plane + e] = (float)(0.5 * (t[i][1] + t[i][2]) + t[i][3]);
    }
  }
}

// ------------------------------------------------- fused block conv3x3 -> bias -> ReLU -> max-pool

// The block for any input channel count (the first layer of an image CNN: 1 or 3 channels), by
// direct sums: per pooled output, the four convolution outputs of its window for 8 output channels
// at a time, summed over the 3x3 taps and channels in order (c, then kh, kw), then the bias,
// pool_relu4. `xp` is the input with one pixel of zeros around each image ([batch, H + 2, W + 2, C],
// pad_images), so the sums need no bounds checks (the zeros add exact zeros). Pooled rows
// [rowStart, rowEnd) of the batch (row = b * PH + py); K a multiple of 8.
EXPORT(conv3x3_pool_direct) void conv3x3_pool_direct(const float* xp, const float* g, const float* bias, float* y, int32_t* mask, int32_t H,
                                                     int32_t W, int32_t C, int32_t K, int32_t rowStart, int32_t rowEnd) {
  const int32_t PH = H / 2, PW = W / 2;
  const int64_t rowStride = (int64_t)(W + 2) * C;
  const v128_t zero = f4(0.0f);
  for (int32_t row = rowStart; row < rowEnd; row++) {
    const int32_t b = row / PH, py = row % PH;
    const float* image = xp + (int64_t)b * (H + 2) * rowStride;
    for (int32_t px = 0; px < PW; px++) {
      // The window's 4 x 4 input patch starts at padded (2 py, 2 px) = input (2 py - 1, 2 px - 1).
      const float* patch = image + (int64_t)(2 * py) * rowStride + (int64_t)(2 * px) * C;
      const int64_t at = (((int64_t)b * PH + py) * PW + px) * K;
      for (int32_t k = 0; k < K; k += 8) {
        v128_t a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero;
        for (int32_t c = 0; c < C; c++) {
          for (int32_t kh = 0; kh < 3; kh++) {
            const float* p0 = patch + kh * rowStride + c;
            const float* p1 = p0 + rowStride;
            for (int32_t kw = 0; kw < 3; kw++) {
              const float* w = g + ((int64_t)(kh * 3 + kw) * C + c) * K + k;
              const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4);
              // Window position (a, e) reads input (y0 + a + kh, x0 + e + kw).
              const v128_t v00 = wasm_v128_load32_splat(p0 + kw * C), v01 = wasm_v128_load32_splat(p0 + (kw + 1) * C);
              const v128_t v10 = wasm_v128_load32_splat(p1 + kw * C), v11 = wasm_v128_load32_splat(p1 + (kw + 1) * C);
              MADD_4X8(a, v00, v01, v10, v11, w0, w1)
            }
          }
        }
        const v128_t b0 = wasm_v128_load(bias + k), b1 = wasm_v128_load(bias + k + 4);
        pool_relu4(wasm_f32x4_add(a00, b0), wasm_f32x4_add(a10, b0), wasm_f32x4_add(a20, b0), wasm_f32x4_add(a30, b0), y + at + k, mask + at + k);
        pool_relu4(wasm_f32x4_add(a01, b1), wasm_f32x4_add(a11, b1), wasm_f32x4_add(a21, b1), wasm_f32x4_add(a31, b1), y + at + k + 4,
                   mask + at + k + 4);
      }
    }
  }
}

// Images with one pixel of zeros around them: xp [batch, H + 2, W + 2, C] from x [batch, H, W, C].
// Padded rows [rowStart, rowEnd) of the batch (row = b * (H + 2) + r).
EXPORT(pad_images) void pad_images(const float* x, float* xp, int32_t H, int32_t W, int32_t C, int32_t rowStart, int32_t rowEnd) {
  const int64_t inRow = (int64_t)W * C, outRow = (int64_t)(W + 2) * C;
  for (int32_t row = rowStart; row < rowEnd; row++) {
    const int32_t b = row / (H + 2), r = row % (H + 2);
    float* out = xp + (int64_t)row * outRow;
    if (r == 0 || r == H + 1) {
      for (int64_t i = 0; i < outRow; i++) out[i] = 0.0f;
      continue;
    }
    const float* in = x + ((int64_t)b * H + (r - 1)) * inRow;
    for (int32_t c = 0; c < C; c++) out[c] = 0.0f, out[outRow - C + c] = 0.0f;
    for (int64_t i = 0; i < inRow; i++) out[C + i] = in[i];
  }
}

// The block's gradient before the convolution: dPre [batch, H, W, K] from the pooled gradient dy
// [batch, H / 2, W / 2, K] and the window positions: dPre = dy at the window's recorded position, 0
// elsewhere (and in the last row / column of an odd H / W, outside every window). Rows
// [rowStart, rowEnd) of dPre's image rows (row = b * H + iy); K a multiple of 4.
EXPORT(pool_relu_grad) void pool_relu_grad(const float* dy, const int32_t* mask, float* dPre, int32_t H, int32_t W, int32_t K,
                                           int32_t rowStart, int32_t rowEnd) {
  const int32_t PH = H / 2, PW = W / 2;
  const v128_t zero = f4(0.0f);
  for (int32_t row = rowStart; row < rowEnd; row++) {
    const int32_t b = row / H, iy = row % H;
    float* out = dPre + (int64_t)row * W * K;
    const int32_t py = iy / 2;
    if (py >= PH) {
      for (int64_t i = 0; i < (int64_t)W * K; i += 4) wasm_v128_store(out + i, zero);
      continue;
    }
    const int32_t base = (iy & 1) * 2;  // window positions of this row: base (left), base + 1 (right)
    const v128_t left = i4(base), right = i4(base + 1);
    const float* g = dy + (((int64_t)b * PH + py) * PW) * K;
    const int32_t* msk = mask + (((int64_t)b * PH + py) * PW) * K;
    for (int32_t px = 0; px < PW; px++) {
      for (int32_t k = 0; k < K; k += 4) {
        const v128_t d = wasm_v128_load(g + (int64_t)px * K + k), m = wasm_v128_load(msk + (int64_t)px * K + k);
        wasm_v128_store(out + (int64_t)(2 * px) * K + k, wasm_v128_and(d, wasm_i32x4_eq(m, left)));
        wasm_v128_store(out + (int64_t)(2 * px + 1) * K + k, wasm_v128_and(d, wasm_i32x4_eq(m, right)));
      }
    }
    for (int32_t ix = 2 * PW; ix < W; ix++)
      for (int32_t k = 0; k < K; k += 4) wasm_v128_store(out + (int64_t)ix * K + k, zero);
  }
}

// The fused block's bias gradient from the pooled gradient: out[k] = Σ over the `count` pooled
// outputs of dy where the window passed a gradient (mask >= 0) — the sum of dPre over its
// positions, read from the 4x smaller pooled tensors. Summed in float64 (acc: K doubles of heap
// scratch) in position order, rounded once; K a multiple of 4.
EXPORT(pool_bias_grad) void pool_bias_grad(const float* dy, const int32_t* mask, double* acc, int32_t count, int32_t K, float* out) {
  for (int32_t k = 0; k < K; k += 2) wasm_v128_store(acc + k, wasm_f64x2_splat(0.0));
  const v128_t none = i4(-1);
  for (int64_t p = 0; p < count; p++) {
    const float* g = dy + p * K;
    const int32_t* m = mask + p * K;
    for (int32_t k = 0; k < K; k += 4) {
      const v128_t v = wasm_v128_andnot(wasm_v128_load(g + k), wasm_i32x4_eq(wasm_v128_load(m + k), none));
      wasm_v128_store(acc + k, wasm_f64x2_add(wasm_v128_load(acc + k), wasm_f64x2_promote_low_f32x4(v)));
      wasm_v128_store(acc + k + 2, wasm_f64x2_add(wasm_v128_load(acc + k + 2), hi_to_f64(v)));
    }
  }
  for (int32_t k = 0; k < K; k++) out[k] = (float)acc[k];
}

// ------------------------------------------------------------------------------------- Adam

// One Adam step (Kingma & Ba 2015) over elements [start, end), operation by operation as
// tfjs-core 4.22's AdamOptimizer.applyGradients in float32, so the result is the same bit for bit:
//   m' = m b1 + g c1,  v' = v b2 + (g g) c2   (c1 = 1 - b1, c2 = 1 - b2 rounded to float32)
//   value' = ((m' / oma1) / (sqrt(v' / oma2) + eps)) (-lr) + value   (oma = 1 - acc, float32)
// acc1, acc2: the optimizer's float32 accumulators β₁ᵗ, β₂ᵗ (read on the heap, not on the host).
// The outputs are new buffers (the optimizer assigns them to its variables).
EXPORT(adam_update) void adam_update(const float* value, const float* m, const float* v, const float* g, float* outValue, float* outM,
                                     float* outV, const float* acc1, const float* acc2, float b1, float c1, float b2, float c2, float eps,
                                     float negLr, int32_t start, int32_t end) {
  const float oma1 = 1.0f - *acc1, oma2 = 1.0f - *acc2;
  const v128_t vb1 = f4(b1), vc1 = f4(c1), vb2 = f4(b2), vc2 = f4(c2), voma1 = f4(oma1), voma2 = f4(oma2), veps = f4(eps), vlr = f4(negLr);
  int32_t i = start;
  for (; i + 4 <= end; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), vb1), wasm_f32x4_mul(gi, vc1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), vb2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), vc2));
    const v128_t denom = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, voma2)), veps);
    const v128_t step = wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_div(mi, voma1), denom), vlr);
    wasm_v128_store(outM + i, mi);
    wasm_v128_store(outV + i, vi);
    wasm_v128_store(outValue + i, wasm_f32x4_add(step, wasm_v128_load(value + i)));
  }
  for (; i < end; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    const float denom = __builtin_sqrtf(vi / oma2) + eps;
    outM[i] = mi;
    outV[i] = vi;
    outValue[i] = ((mi / oma1) / denom) * negLr + value[i];
  }
}

// ------------------------------------------------------------------------- bilinear crop-resize

// Bilinear crop-and-resize from host-computed sample lines (augment's cropAndResizeExact, the
// recipe's random resized crop): per box b, output pixel (oy, ox) and channel, with the column
// lines cl / ch (-1: outside the image, a column of zeros) and weight wx of ox, the row lines
// rl / rh and weight wy of oy, in float32:
//   mixed(r) = L + (R - L) wx   (L, R: the image's columns cl, ch at row r, or 0)
//   top = mixed(rl) (0 where rl = -1), bottom = mixed(rh) (0 where rh = -1)
//   out = top + (bottom - top) wy
// — TensorFlow's interpolation order, columns first, so the result equals augment's copy-and-
// interpolate tensor path bit for bit. images [n, H, W, C]; out [boxes, outH, outW, C]; boxes
// [boxStart, boxEnd) here.
static inline float crop_mixed(const float* image, int32_t W, int32_t C, int32_t r, int32_t cl, int32_t ch, float wx, int32_t c) {
  const float left = cl < 0 ? 0.0f : image[((int64_t)r * W + cl) * C + c];
  const float right = ch < 0 ? 0.0f : image[((int64_t)r * W + ch) * C + c];
  return left + (right - left) * wx;
}

EXPORT(bilinear_crop) void bilinear_crop(const float* images, int32_t H, int32_t W, int32_t C, const int32_t* sources, const int32_t* rowLow,
                                         const int32_t* rowHigh, const float* wy, const int32_t* colLow, const int32_t* colHigh, const float* wx,
                                         int32_t outH, int32_t outW, float* out, int32_t boxStart, int32_t boxEnd) {
  for (int32_t b = boxStart; b < boxEnd; b++) {
    const float* image = images + (int64_t)sources[b] * H * W * C;
    for (int32_t oy = 0; oy < outH; oy++) {
      const int32_t rl = rowLow[b * outH + oy], rh = rowHigh[b * outH + oy];
      const float wyv = wy[b * outH + oy];
      float* o = out + (((int64_t)b * outH + oy) * outW) * C;
      for (int32_t ox = 0; ox < outW; ox++) {
        const int32_t cl = colLow[b * outW + ox], ch = colHigh[b * outW + ox];
        const float wxv = wx[b * outW + ox];
        for (int32_t c = 0; c < C; c++) {
          const float top = rl < 0 ? 0.0f : crop_mixed(image, W, C, rl, cl, ch, wxv, c);
          const float bottom = rh < 0 ? 0.0f : crop_mixed(image, W, C, rh, cl, ch, wxv, c);
          o[(int64_t)ox * C + c] = top + (bottom - top) * wyv;
        }
      }
    }
  }
}
