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
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline v128_t f4(float x) { return wasm_f32x4_splat(x); }
static inline v128_t i4(int32_t x) { return wasm_i32x4_splat(x); }

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
                                                 int32_t channels) {
  const int32_t rowStride = 2 * outWidth * channels;
  for (int32_t r = 0; r < rows; r++) {
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
      a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(v0, g0));
      a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(v0, g1));
      a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(v1, g0));
      a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(v1, g1));
      a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(v2, g0));
      a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(v2, g1));
      a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(v3, g0));
      a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(v3, g1));
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
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, wasm_v128_load(gp)));
      if (vecs > 1) a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(v, wasm_v128_load(gp + 4)));
      if (vecs > 2) a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(v, wasm_v128_load(gp + 8)));
      if (vecs > 3) a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(v, wasm_v128_load(gp + 12)));
      if (vecs > 4) a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(v, wasm_v128_load(gp + 16)));
      if (vecs > 5) a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(v, wasm_v128_load(gp + 20)));
      if (vecs > 6) a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(v, wasm_v128_load(gp + 24)));
      if (vecs > 7) a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(v, wasm_v128_load(gp + 28)));
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
  if (mx == -__builtin_inff()) return mx;
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

EXPORT(info_nce_rows) void info_nce_rows(int32_t kind, const float* s, const int32_t* rows, const int32_t* cols, int32_t n, int32_t m,
                                         int32_t selfStart, float* out) {
  for (int32_t i = 0; i < n; i++) {
    const float* r = s + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    float lse = row_lse(kind, r, cols, m, id, self);
    float loss = 0.0f;
    if (kind == 0) {
      float pos = 0.0f;
      int32_t count = 0;
      for (int32_t j = 0; j < m; j++) if (cols[j] == id && j != self) { pos += r[j]; count++; }
      if (count > 0) loss = lse - pos / (float)count;
    } else if (lse != -__builtin_inff()) {
      for (int32_t j = 0; j < m; j++) if (cols[j] == id && j != self) loss += wasm_f32x4_extract_lane(softplus4(f4(lse - r[j])), 0);
    }
    out[i] = loss;
  }
}

EXPORT(info_nce_row_grads) void info_nce_row_grads(int32_t kind, const float* s, const int32_t* rows, const int32_t* cols, int32_t n,
                                                   int32_t m, int32_t selfStart, const float* dRow, float* g) {
  for (int32_t i = 0; i < n; i++) {
    const float* r = s + (int64_t)i * m;
    float* gr = g + (int64_t)i * m;
    const int32_t id = rows[i];
    const int32_t self = selfStart >= 0 ? selfStart + i : -1;
    float lse = row_lse(kind, r, cols, m, id, self);
    int32_t count = 0;
    float sigmaSum = 0.0f;
    for (int32_t j = 0; j < m; j++) {
      if (cols[j] == id && j != self) {
        count++;
        if (kind == 1) sigmaSum += 1.0f / (1.0f + wasm_f32x4_extract_lane(exp4(f4(r[j] - lse)), 0));
      }
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
    for (int32_t k = 0; k < m; k++) {
      if (cols[k] != id || k == self) continue;
      if (kind == 0) gr[k] -= c / (float)count;
      else gr[k] -= c / (1.0f + wasm_f32x4_extract_lane(exp4(f4(r[k] - lse)), 0));
    }
  }
}

// out = g + transpose(g) for a square [n, n] matrix, in 32 x 32 tiles (the gradient of a loss on
// A·Aᵀ with respect to A is (G + Gᵀ)·A: one matrix product instead of two).
EXPORT(add_transpose) void add_transpose(const float* g, float* out, int32_t n) {
  const int32_t T = 32;
  for (int32_t i0 = 0; i0 < n; i0 += T) {
    const int32_t i1 = i0 + T < n ? i0 + T : n;
    for (int32_t j0 = 0; j0 < n; j0 += T) {
      const int32_t j1 = j0 + T < n ? j0 + T : n;
      for (int32_t i = i0; i < i1; i++) {
        const float* row = g + (int64_t)i * n;
        float* o = out + (int64_t)i * n;
        for (int32_t j = j0; j < j1; j++) o[j] = row[j] + g[(int64_t)j * n + i];
      }
    }
  }
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
