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

// `pairs` Box–Muller pairs into out[0 .. 2 pairs): u (redrawn while 0), v, r = sqrt(-2 log u),
// out[2i] = mean + std r cos(2 pi v), out[2i + 1] = mean + std (r sin(2 pi v)), each rounded to
// float32. state: pure-rand's [s0 high, s0 low, s1 high, s1 low] (uint32), advanced in place.
EXPORT(normal_pairs) void normal_pairs(uint32_t* state, float* out, int32_t pairs, double mean, double std) {
  uint64_t s0 = ((uint64_t)state[0] << 32) | state[1];
  uint64_t s1 = ((uint64_t)state[2] << 32) | state[3];
  for (int32_t i = 0; i < pairs; i++) {
    double u = 0.0;
    while (u == 0.0) u = next_uniform(&s0, &s1);
    const double v = next_uniform(&s0, &s1);
    const double radius = __builtin_sqrt(-2.0 * fd_log(u));
    double sine, cosine;
    fd_sincos(6.283185307179586 * v, &sine, &cosine);
    out[2 * i] = (float)(mean + std * radius * cosine);
    out[2 * i + 1] = (float)(mean + std * (radius * sine));
  }
  state[0] = (uint32_t)(s0 >> 32);
  state[1] = (uint32_t)s0;
  state[2] = (uint32_t)(s1 >> 32);
  state[3] = (uint32_t)s1;
}

// For the tests: out[0] = sin(x), out[1] = cos(x) for x in [0, 2 pi); returns log(x) for x in (0, 1].
EXPORT(sincos_check) void sincos_check(double x, double* out) { fd_sincos(x, out, out + 1); }
EXPORT(log_check) double log_check(double x) { return fd_log(x); }
