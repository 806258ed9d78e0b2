// Standard-normal draws for Rng.normalArray, compiled to WebAssembly by scripts/build-wasm.mjs
// (clang --target=wasm32; the module imports its memory: every pointer is a byte offset into it).
//
// The same values as the JavaScript path bit for bit: pure-rand's xoroshiro128+ and
// uniformFloat64, Box–Muller with the same operations in the same order, and the logarithm, sine
// and cosine of fdlibm (Sun Microsystems, 1993), which is what V8's Math.log, Math.sin and
// Math.cos run (src/base/ieee754.cc). fdlibm's notice: "Copyright (C) 1993 by Sun Microsystems,
// Inc. All rights reserved. Developed at SunSoft, a Sun Microsystems, Inc. business. Permission to
// use, copy, modify, and distribute this software is freely granted, provided that this notice is
// preserved." The functions below are written for this module's inputs only: log of a double in
// (0, 1], sine and cosine of an angle in [0, 2 pi) (fdlibm's medium-size reduction; no
// Payne–Hanek path). WebAssembly has no fused multiply-add and clang does not reassociate without
// -ffast-math, so every operation rounds as in the C++ original.
//
// Like the other modules it keeps nothing in linear memory of its own (no static data, no shadow
// stack): constants are immediates, everything else is locals.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

INLINE uint64_t bits(double x) { return __builtin_bit_cast(uint64_t, x); }
INLINE double from_bits(uint64_t b) { return __builtin_bit_cast(double, b); }
INLINE int32_t high_word(double x) { return (int32_t)(bits(x) >> 32); }
INLINE double with_high_word(double x, uint32_t hi) { return from_bits(((uint64_t)hi << 32) | (bits(x) & 0xFFFFFFFFu)); }

// fdlibm's e_log.c, for x in (0, 1] (no zero, negative, infinite or NaN input reaches it).
INLINE double fd_log(double x) {
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10, two54 = 1.80143985094819840000e+16;
  const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
               Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
               Lg7 = 1.479819860511658591e-01;
  int32_t hx = high_word(x);
  int32_t k = 0;
  if (hx < 0x00100000) {  // subnormal: scale up
    k -= 54;
    x *= two54;
    hx = high_word(x);
  }
  k += (hx >> 20) - 1023;
  hx &= 0x000FFFFF;
  const int32_t i0 = (hx + 0x95F64) & 0x100000;
  x = with_high_word(x, (uint32_t)(hx | (i0 ^ 0x3FF00000)));  // x or x / 2 into [sqrt(2) / 2, sqrt(2))
  k += i0 >> 20;
  const double f = x - 1.0;
  if ((0x000FFFFF & (2 + hx)) < 3) {  // -2^-20 <= f < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      const double dk = (double)k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    const double R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    const double dk = (double)k;
    return dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  const double s = f / (2.0 + f);
  const double dk = (double)k;
  const double z = s * s;
  int32_t i = hx - 0x6147A;
  const double w = z * z;
  const int32_t j = 0x6B851 - hx;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  const double R = t2 + t1;
  // fdlibm returns f - (...) when k = 0 and dk ln2_hi - ((...) - f) otherwise; with k = 0 the
  // latter is 0 - (X - f) = f - X exactly (and the added dk ln2_lo is +0), so one formula serves,
  // and both of fdlibm's branches are computed and selected (no unpredictable jump).
  const double hfsq = 0.5 * f * f;
  const double accurate = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  const double plain = dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
  return i > 0 ? accurate : plain;
}

// fdlibm's k_cos.c: cos(x + y) for |x| <= pi / 4, y the tail of x.
INLINE double fd_kernel_cos(double x, double y) {
  const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03, C3 = 2.48015872894767294178e-05,
               C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const int32_t ix = high_word(x) & 0x7FFFFFFF;
  if (ix < 0x3E400000 && (int32_t)x == 0) return 1.0;  // |x| < 2^-27
  const double z = x * x;
  const double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  const double small = 1.0 - (0.5 * z - (z * r - x * y));  // |x| < 0.3
  const double qx = ix > 0x3FE90000 ? 0.28125 : from_bits((uint64_t)(uint32_t)(ix - 0x00200000) << 32);  // x / 4 (high word only)
  const double iz = 0.5 * z - qx;
  const double a = 1.0 - qx;
  const double large = a - (iz - (z * r - x * y));
  return ix < 0x3FD33333 ? small : large;  // both computed: a select, not a jump
}

// fdlibm's k_sin.c: sin(x + y) for |x| <= pi / 4, y the tail of x; iy = 0: y is taken as 0.
INLINE double fd_kernel_sin(double x, double y, int iy) {
  const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03, S3 = -1.98412698298579493134e-04,
               S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  const int32_t ix = high_word(x) & 0x7FFFFFFF;
  if (ix < 0x3E400000 && (int32_t)x == 0) return x;  // |x| < 2^-27
  const double z = x * x;
  const double v = z * x;
  const double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (iy == 0) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

// The high words of n pi / 2 for n = 1 .. 4 (fdlibm's npio2_hw), as a switch: no data segment.
INLINE int32_t npio2_hw(int32_t n) {
  switch (n) {
    case 1: return 0x3FF921FB;
    case 2: return 0x400921FB;
    case 3: return 0x4012D97C;
    default: return 0x401921FB;
  }
}

// sin(x) and cos(x) as fdlibm's s_sin.c and s_cos.c, sharing e_rem_pio2.c's reduction, for x in
// [0, 2 pi). fdlibm takes three paths: no reduction up to pi / 4, a special case for n = 1 below
// 3 pi / 4, the medium-size reduction above (n <= 4 here, so its table is the switch above). The
// medium path's arithmetic with n = 0 or 1 is the same as the first two paths' (r = x - 0 pio2_1 =
// x, w = 0; resp. r = x - pio2_1, w = pio2_1t: fdlibm's own n = 1 formulas), except fdlibm's sine
// without reduction (__kernel_sin with iy = 0) and its n = 1 case within 2^-20 of pi / 2; so the
// reduction runs once for every x, both sines are computed and selected, and only that rare case
// (and the medium path's own rare second iteration) branches.
INLINE void fd_sincos(double x, double* sine, double* cosine) {
  const double invpio2 = 6.36619772367581382433e-01, pio2_1 = 1.57079632673412561417e+00,
               pio2_1t = 6.07710050650619224932e-11, pio2_2 = 6.07710050630396597660e-11,
               pio2_2t = 2.02226624879595063154e-21, pio2_3 = 2.02226624871116645580e-21,
               pio2_3t = 8.47842766036889956997e-32;
  const int32_t ix = high_word(x) & 0x7FFFFFFF;
  const int reduced = ix > 0x3FE921FB;  // fdlibm reduces above the high word of pi / 4
  const int32_t n = reduced ? (int32_t)(x * invpio2 + 0.5) : 0;  // x >= 0: fabs(x) = x
  const double fn = (double)n;
  double r = x - fn * pio2_1;
  double w = fn * pio2_1t;
  double y0 = r - w;
  if (__builtin_expect(n >= 1 && ix == npio2_hw(n), 0)) {
    if (n == 1) {  // fdlibm's n = 1 case near pi / 2: 33 + 33 + 53 bits of pi
      const double z = (x - pio2_1) - pio2_2;
      y0 = z - pio2_2t;
      r = z;
      w = pio2_2t;
    } else {
      const int32_t j = ix >> 20;
      int32_t i = j - ((int32_t)((uint32_t)high_word(y0) >> 20) & 0x7FF);
      if (i > 16) {  // a second iteration, good to 118 bits
        double t = r;
        w = fn * pio2_2;
        r = t - w;
        w = fn * pio2_2t - ((t - r) - w);
        y0 = r - w;
        i = j - ((int32_t)((uint32_t)high_word(y0) >> 20) & 0x7FF);
        if (i > 49) {  // a third, 151 bits
          t = r;
          w = fn * pio2_3;
          r = t - w;
          w = fn * pio2_3t - ((t - r) - w);
          y0 = r - w;
        }
      }
    }
  }
  const double y1 = (r - y0) - w;
  const double s = reduced ? fd_kernel_sin(y0, y1, 1) : fd_kernel_sin(x, 0.0, 0);
  const double c = fd_kernel_cos(y0, y1);
  // Quadrant n & 3: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s), by selects.
  const int32_t q = n & 3;
  const double sBase = (q & 1) ? c : s, cBase = (q & 1) ? s : c;
  *sine = (q & 2) ? -sBase : sBase;
  *cosine = ((q + 1) & 2) ? -cBase : cBase;
}

// xoroshiro128+ as pure-rand's: the state's 64-bit words s0, s1 (pure-rand keeps them as 32-bit
// halves), each step's output the low 32 bits of s0 + s1.
INLINE uint32_t next_word(uint64_t* s0, uint64_t* s1) {
  const uint64_t a = *s0, b = *s1;
  const uint32_t word = (uint32_t)(a + b);
  const uint64_t x = b ^ a;
  *s0 = ((a << 24) | (a >> 40)) ^ x ^ (x << 16);
  *s1 = (x << 37) | (x >> 27);
  return word;
}

// pure-rand's uniformFloat64: 26 high bits of one word, 27 of the next, in [0, 1).
INLINE double next_uniform(uint64_t* s0, uint64_t* s1) {
  const uint32_t hi = next_word(s0, s1) & 0x3FFFFFFu;
  const uint32_t lo = next_word(s0, s1) & 0x7FFFFFFu;
  return (double)hi * 0x1p-26 + (double)lo * 0x1p-53;
}

// ------------------------------------------------------------------ two pairs at once (SIMD)
//
// The functions above on two lanes of f64x2: the same operations in the same order per lane (IEEE
// double arithmetic is the same in SIMD), the branch-free parts as they are and fdlibm's rare
// paths — log's |f| < 2^-20, the reduction's cancellation check, the kernels' |x| < 2^-27 — not
// taken in SIMD: when a lane would take one, both pairs are recomputed by the scalar code.

INLINE v128_t d2(double x) { return wasm_f64x2_splat(x); }
INLINE v128_t l2(int64_t x) { return wasm_i64x2_splat(x); }
// The high words (sign-extended) of two doubles, as i64 lanes.
INLINE v128_t high_words(v128_t x) { return wasm_i64x2_shr(x, 32); }
// Lanes 0 and 1 of an i64x2 as the low two i32 lanes.
INLINE v128_t narrow_low(v128_t x) { return wasm_i32x4_shuffle(x, x, 0, 2, 0, 2); }

// fd_log on two lanes; *rare set when a lane needs fdlibm's |f| < 2^-20 path.
INLINE v128_t log2x(v128_t x, int* rare) {
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
               Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
               Lg7 = 1.479819860511658591e-01;
  v128_t hx = high_words(x);
  const v128_t hx20 = wasm_v128_and(hx, l2(0x000FFFFF));
  // Subnormal input (hx < 0x00100000) never reaches this (u >= 2^-53); flagged rare anyway.
  v128_t k = wasm_i64x2_sub(wasm_i64x2_shr(hx, 20), l2(1023));
  const v128_t i0 = wasm_v128_and(wasm_i64x2_add(hx20, l2(0x95F64)), l2(0x100000));
  const v128_t top = wasm_v128_or(hx20, wasm_v128_xor(i0, l2(0x3FF00000)));
  const v128_t xn = wasm_v128_or(wasm_i64x2_shl(top, 32), wasm_v128_and(x, l2(0xFFFFFFFFll)));
  k = wasm_i64x2_add(k, wasm_i64x2_shr(i0, 20));
  const v128_t f = wasm_f64x2_sub(xn, d2(1.0));
  const v128_t tiny = wasm_i64x2_lt(wasm_v128_and(wasm_i64x2_add(l2(2), hx20), l2(0x000FFFFF)), l2(3));
  const v128_t sub = wasm_i64x2_lt(hx, l2(0x00100000));
  if (wasm_v128_any_true(wasm_v128_or(tiny, sub))) *rare = 1;
  const v128_t s = wasm_f64x2_div(f, wasm_f64x2_add(d2(2.0), f));
  const v128_t dk = wasm_f64x2_convert_low_i32x4(narrow_low(k));
  const v128_t z = wasm_f64x2_mul(s, s);
  v128_t i = wasm_i64x2_sub(hx20, l2(0x6147A));
  const v128_t w = wasm_f64x2_mul(z, z);
  const v128_t j = wasm_i64x2_sub(l2(0x6B851), hx20);
  const v128_t t1 = wasm_f64x2_mul(w, wasm_f64x2_add(d2(Lg2), wasm_f64x2_mul(w, wasm_f64x2_add(d2(Lg4), wasm_f64x2_mul(w, d2(Lg6))))));
  const v128_t t2 = wasm_f64x2_mul(z, wasm_f64x2_add(d2(Lg1), wasm_f64x2_mul(w, wasm_f64x2_add(d2(Lg3), wasm_f64x2_mul(w, wasm_f64x2_add(d2(Lg5), wasm_f64x2_mul(w, d2(Lg7))))))));
  i = wasm_v128_or(i, j);
  const v128_t R = wasm_f64x2_add(t2, t1);
  const v128_t hfsq = wasm_f64x2_mul(wasm_f64x2_mul(d2(0.5), f), f);
  const v128_t khi = wasm_f64x2_mul(dk, d2(ln2_hi)), klo = wasm_f64x2_mul(dk, d2(ln2_lo));
  const v128_t accurate =
      wasm_f64x2_sub(khi, wasm_f64x2_sub(wasm_f64x2_sub(hfsq, wasm_f64x2_add(wasm_f64x2_mul(s, wasm_f64x2_add(hfsq, R)), klo)), f));
  const v128_t plain = wasm_f64x2_sub(khi, wasm_f64x2_sub(wasm_f64x2_sub(wasm_f64x2_mul(s, wasm_f64x2_sub(f, R)), klo), f));
  return wasm_v128_bitselect(accurate, plain, wasm_i64x2_gt(i, l2(0)));
}

// fd_sincos on two lanes of x in [0, 2 pi); *rare set when a lane needs a path skipped here.
INLINE void sincos2x(v128_t x, v128_t* sine, v128_t* cosine, int* rare) {
  const double invpio2 = 6.36619772367581382433e-01, pio2_1 = 1.57079632673412561417e+00, pio2_1t = 6.07710050650619224932e-11;
  const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03, S3 = -1.98412698298579493134e-04,
               S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03, C3 = 2.48015872894767294178e-05,
               C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const v128_t ix = wasm_v128_and(high_words(x), l2(0x7FFFFFFF));
  const v128_t reduced = wasm_i64x2_gt(ix, l2(0x3FE921FB));
  const v128_t n32 = wasm_v128_and(wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_add(wasm_f64x2_mul(x, d2(invpio2)), d2(0.5))), narrow_low(reduced));
  const v128_t n = wasm_i64x2_extend_low_i32x4(n32);
  // fdlibm's cancellation check (n >= 1 and ix at the high word of n pi / 2), tiny arguments.
  const v128_t hw = wasm_v128_bitselect(l2(0x3FF921FB), wasm_v128_bitselect(l2(0x400921FB), wasm_v128_bitselect(l2(0x4012D97C), l2(0x401921FB), wasm_i64x2_eq(n, l2(3))), wasm_i64x2_eq(n, l2(2))), wasm_i64x2_eq(n, l2(1)));
  const v128_t cancel = wasm_v128_and(wasm_i64x2_gt(n, l2(0)), wasm_i64x2_eq(ix, hw));
  const v128_t fn = wasm_f64x2_convert_low_i32x4(n32);
  const v128_t r = wasm_f64x2_sub(x, wasm_f64x2_mul(fn, d2(pio2_1)));
  const v128_t w = wasm_f64x2_mul(fn, d2(pio2_1t));
  const v128_t y0 = wasm_f64x2_sub(r, w);
  const v128_t y1 = wasm_f64x2_sub(wasm_f64x2_sub(r, y0), w);
  const v128_t iy0 = wasm_v128_and(high_words(y0), l2(0x7FFFFFFF));
  const v128_t small0 = wasm_i64x2_lt(iy0, l2(0x3E400000)), smallx = wasm_i64x2_lt(ix, l2(0x3E400000));
  if (wasm_v128_any_true(wasm_v128_or(cancel, wasm_v128_or(small0, smallx)))) *rare = 1;
  // __kernel_sin(y0, y1, 1) and __kernel_sin(x, 0, 0).
  const v128_t z = wasm_f64x2_mul(y0, y0);
  const v128_t v = wasm_f64x2_mul(z, y0);
  const v128_t rs = wasm_f64x2_add(d2(S2), wasm_f64x2_mul(z, wasm_f64x2_add(d2(S3), wasm_f64x2_mul(z, wasm_f64x2_add(d2(S4), wasm_f64x2_mul(z, wasm_f64x2_add(d2(S5), wasm_f64x2_mul(z, d2(S6)))))))));
  const v128_t sinReduced = wasm_f64x2_sub(
      y0, wasm_f64x2_sub(wasm_f64x2_sub(wasm_f64x2_mul(z, wasm_f64x2_sub(wasm_f64x2_mul(d2(0.5), y1), wasm_f64x2_mul(v, rs))), y1), wasm_f64x2_mul(v, d2(S1))));
  const v128_t zx = wasm_f64x2_mul(x, x);
  const v128_t vx = wasm_f64x2_mul(zx, x);
  const v128_t rx = wasm_f64x2_add(d2(S2), wasm_f64x2_mul(zx, wasm_f64x2_add(d2(S3), wasm_f64x2_mul(zx, wasm_f64x2_add(d2(S4), wasm_f64x2_mul(zx, wasm_f64x2_add(d2(S5), wasm_f64x2_mul(zx, d2(S6)))))))));
  const v128_t sinPlain = wasm_f64x2_add(x, wasm_f64x2_mul(vx, wasm_f64x2_add(d2(S1), wasm_f64x2_mul(zx, rx))));
  const v128_t s = wasm_v128_bitselect(sinReduced, sinPlain, reduced);
  // __kernel_cos(y0, y1).
  // z (C1 + z (C2 + z (C3 + z (C4 + z (C5 + z C6))))), innermost first.
  v128_t rc = wasm_f64x2_add(d2(C5), wasm_f64x2_mul(z, d2(C6)));
  rc = wasm_f64x2_add(d2(C4), wasm_f64x2_mul(z, rc));
  rc = wasm_f64x2_add(d2(C3), wasm_f64x2_mul(z, rc));
  rc = wasm_f64x2_add(d2(C2), wasm_f64x2_mul(z, rc));
  rc = wasm_f64x2_add(d2(C1), wasm_f64x2_mul(z, rc));
  rc = wasm_f64x2_mul(z, rc);
  const v128_t tail = wasm_f64x2_sub(wasm_f64x2_mul(z, rc), wasm_f64x2_mul(y0, y1));
  const v128_t cosSmall = wasm_f64x2_sub(d2(1.0), wasm_f64x2_sub(wasm_f64x2_mul(d2(0.5), z), tail));
  const v128_t qx = wasm_v128_bitselect(d2(0.28125), wasm_i64x2_shl(wasm_i64x2_sub(iy0, l2(0x00200000)), 32), wasm_i64x2_gt(iy0, l2(0x3FE90000)));
  const v128_t iz = wasm_f64x2_sub(wasm_f64x2_mul(d2(0.5), z), qx);
  const v128_t cosLarge = wasm_f64x2_sub(wasm_f64x2_sub(d2(1.0), qx), wasm_f64x2_sub(iz, tail));
  const v128_t c = wasm_v128_bitselect(cosSmall, cosLarge, wasm_i64x2_lt(iy0, l2(0x3FD33333)));
  // Quadrants.
  const v128_t odd = wasm_i64x2_ne(wasm_v128_and(n, l2(1)), l2(0));
  const v128_t sNeg = wasm_i64x2_ne(wasm_v128_and(n, l2(2)), l2(0));
  const v128_t cNeg = wasm_i64x2_ne(wasm_v128_and(wasm_i64x2_add(n, l2(1)), l2(2)), l2(0));
  const v128_t sBase = wasm_v128_bitselect(c, s, odd), cBase = wasm_v128_bitselect(s, c, odd);
  *sine = wasm_v128_bitselect(wasm_f64x2_neg(sBase), sBase, sNeg);
  *cosine = wasm_v128_bitselect(wasm_f64x2_neg(cBase), cBase, cNeg);
}

// One Box–Muller pair from u, v into out[0], out[1] (the scalar path).
__attribute__((noinline)) static void scalar_pair(double u, double v, double mean, double std, float* out) {
  const double radius = __builtin_sqrt(-2.0 * fd_log(u));
  double sine, cosine;
  fd_sincos(6.283185307179586 * v, &sine, &cosine);
  out[0] = (float)(mean + std * radius * cosine);
  out[1] = (float)(mean + std * (radius * sine));
}

// `pairs` Box–Muller pairs into out[0 .. 2 pairs): u (redrawn while 0), v, r = sqrt(-2 log u),
// out[2i] = mean + std r cos(2 pi v), out[2i + 1] = mean + std (r sin(2 pi v)), each rounded to
// float32. state: pure-rand's [s0 high, s0 low, s1 high, s1 low] (uint32), advanced in place.
EXPORT(normal_pairs) void normal_pairs(uint32_t* state, float* out, int32_t pairs, double mean, double std) {
  uint64_t s0 = ((uint64_t)state[0] << 32) | state[1];
  uint64_t s1 = ((uint64_t)state[2] << 32) | state[3];
  int32_t i = 0;
  for (; i + 2 <= pairs; i += 2) {
    double ua = 0.0, ub = 0.0;
    while (ua == 0.0) ua = next_uniform(&s0, &s1);
    const double va = next_uniform(&s0, &s1);
    while (ub == 0.0) ub = next_uniform(&s0, &s1);
    const double vb = next_uniform(&s0, &s1);
    int rare = 0;
    const v128_t lg = log2x(wasm_f64x2_make(ua, ub), &rare);
    const v128_t radius = wasm_f64x2_sqrt(wasm_f64x2_mul(d2(-2.0), lg));
    v128_t sine, cosine;
    sincos2x(wasm_f64x2_mul(d2(6.283185307179586), wasm_f64x2_make(va, vb)), &sine, &cosine, &rare);
    if (__builtin_expect(rare, 0)) {
      scalar_pair(ua, va, mean, std, out + 2 * i);
      scalar_pair(ub, vb, mean, std, out + 2 * i + 2);
      continue;
    }
    const v128_t c = wasm_f64x2_add(d2(mean), wasm_f64x2_mul(wasm_f64x2_mul(d2(std), radius), cosine));
    const v128_t sn = wasm_f64x2_add(d2(mean), wasm_f64x2_mul(d2(std), wasm_f64x2_mul(radius, sine)));
    // [c_a, c_b] and [s_a, s_b] as float32, interleaved: c_a, s_a, c_b, s_b.
    const v128_t cf = wasm_f32x4_demote_f64x2_zero(c), sf = wasm_f32x4_demote_f64x2_zero(sn);
    wasm_v128_store(out + 2 * i, wasm_i32x4_shuffle(cf, sf, 0, 4, 1, 5));
  }
  for (; i < pairs; i++) {
    double u = 0.0;
    while (u == 0.0) u = next_uniform(&s0, &s1);
    scalar_pair(u, next_uniform(&s0, &s1), mean, std, out + 2 * i);
  }
  state[0] = (uint32_t)(s0 >> 32);
  state[1] = (uint32_t)s0;
  state[2] = (uint32_t)(s1 >> 32);
  state[3] = (uint32_t)s1;
}

// For the tests: out[0] = sin(x), out[1] = cos(x) for x in [0, 2 pi); returns log(x) for x in (0, 1].
EXPORT(sincos_check) void sincos_check(double x, double* out) { fd_sincos(x, out, out + 1); }
EXPORT(log_check) double log_check(double x) { return fd_log(x); }
// The two-lane versions: out[0..1] = sin, out[2..3] = cos of (a, b), out[4..5] = log of (la, lb);
// returns 1 where a lane would take a path the SIMD code leaves to the scalar one (then the values
// are not meaningful).
EXPORT(simd_check) int32_t simd_check(double a, double b, double la, double lb, double* out) {
  int rare = 0;
  v128_t sine, cosine;
  sincos2x(wasm_f64x2_make(a, b), &sine, &cosine, &rare);
  const v128_t lg = log2x(wasm_f64x2_make(la, lb), &rare);
  wasm_v128_store(out, sine);
  wasm_v128_store(out + 2, cosine);
  wasm_v128_store(out + 4, lg);
  return rare;
}
