/*
 * Exact k-nearest-neighbour search for @contrastive/eval, compiled to WebAssembly (SIMD128).
 *
 * One pass over the reference per block of queries: a 4 x 8 register tile of dot products
 * (q . r, plus a per-reference bias, -||r||^2 / 2 for euclidean ranking) is computed from
 * L2-resident chunks of the packed reference, compared with each query's current K-th best score
 * in SIMD, and only the rare candidates that beat it enter that query's bounded heap. No
 * [queries, references] score matrix is ever stored, so memory is the reference plus K entries
 * per query in flight.
 *
 * Build: packages/eval/scripts/build-knn.mjs (clang-14 --target=wasm32 -msimd128), once with a private
 * memory and once with a shared one for threads.
 * The functions take every buffer by pointer and keep no state and no stack frame in linear
 * memory (the build script checks that no global is touched), so several instances on several
 * threads can share one memory, each with its own heaps and scratch.
 *
 * Determinism: each score is a float32 sum over k = 0 .. d-1 in order, the same on every machine,
 * thread count and block size. Ties rank the lower reference index first.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define PANEL 8
#define ROWS 4
#define EXPORT(name) __attribute__((export_name(#name)))

/* Pack n rows of dimension d into ceil(n / 8) panels, each [d][8] (reference j of the panel in
 * column j); the columns past n of the last panel are zero. */
EXPORT(pack_panels)
void pack_panels(const float *rows, int n, int d, float *packed) {
  int panels = (n + PANEL - 1) / PANEL;
  for (int p = 0; p < panels; p++) {
    float *out = packed + (int64_t)p * d * PANEL;
    for (int j = 0; j < PANEL; j++) {
      int r = p * PANEL + j;
      if (r < n) {
        const float *row = rows + (int64_t)r * d;
        for (int k = 0; k < d; k++) out[k * PANEL + j] = row[k];
      } else {
        for (int k = 0; k < d; k++) out[k * PANEL + j] = 0.0f;
      }
    }
  }
}

/* bias[r] = -||r||^2 / 2 of every packed reference (float32 sum over k in order). */
EXPORT(half_norms)
void half_norms(const float *packed, int panels, int d, float *bias) {
  for (int p = 0; p < panels; p++) {
    const float *b = packed + (int64_t)p * d * PANEL;
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
    for (int k = 0; k < d; k++) {
      v128_t b0 = wasm_v128_load(b + k * PANEL), b1 = wasm_v128_load(b + k * PANEL + 4);
      s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(b0, b0));
      s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(b1, b1));
    }
    v128_t h = wasm_f32x4_splat(-0.5f);
    wasm_v128_store(bias + p * PANEL, wasm_f32x4_mul(s0, h));
    wasm_v128_store(bias + p * PANEL + 4, wasm_f32x4_mul(s1, h));
  }
}

/* Heap order: a is worse than b when its score is lower, or equal with a higher index. The root
 * of each query's heap is its worst kept neighbour. */
static inline int worse(float sa, int ia, float sb, int ib) { return sa < sb || (sa == sb && ia > ib); }

static void sift_down(float *hs, int *hi, int n, int pos, float s, int idx) {
  for (;;) {
    int c = 2 * pos + 1;
    if (c >= n) break;
    if (c + 1 < n && worse(hs[c + 1], hi[c + 1], hs[c], hi[c])) c++;
    if (!worse(hs[c], hi[c], s, idx)) break;
    hs[pos] = hs[c];
    hi[pos] = hi[c];
    pos = c;
  }
  hs[pos] = s;
  hi[pos] = idx;
}

/* Empty heaps: K sentinels (-inf, INT32_MAX) per query, thresholds -inf. */
EXPORT(init_heaps)
void init_heaps(float *hs, int *hi, float *thr, int n, int K) {
  for (int64_t i = 0; i < (int64_t)n * K; i++) {
    hs[i] = -__builtin_inff();
    hi[i] = 0x7fffffff;
  }
  for (int i = 0; i < n; i++) thr[i] = -__builtin_inff();
}

/* References are visited in increasing index, so a candidate that only ties the worst kept score
 * has a higher index than it and is rightly refused by the strict comparison. */
static void offer_tile(const float *scores, int row0, int p, int m, int selfStart, float *hs, int *hi, float *thr, int K) {
  for (int r = 0; r < ROWS; r++) {
    int row = row0 + r;
    float *h = hs + (int64_t)row * K;
    int *hx = hi + (int64_t)row * K;
    int self = selfStart < 0 ? -1 : selfStart + row;
    for (int j = 0; j < PANEL; j++) {
      int idx = p * PANEL + j;
      float s = scores[r * PANEL + j];
      if (idx >= m || idx == self || !(s > h[0])) continue;
      sift_down(h, hx, K, 0, s, idx);
      thr[row] = h[0];
    }
  }
}

/*
 * For nq query rows (nq a multiple of 4) of dimension d, offer the references of panels
 * [p0, p1) (indices below m; scores q . r + bias[r], bias 0 for none) to each query's heap of K.
 * Callers walk the reference one cache-sized range of panels per call, in increasing order, so that
 * every group of 4 queries sweeps a range while it is in cache (and so that the engine tiers up
 * between calls). selfStart >= 0 excludes reference selfStart + row from query row `row`.
 * scratch: 32 floats owned by the caller's thread.
 */
EXPORT(search)
void search(const float *q, int nq, int d, const float *packed, const float *bias, int m, int p0, int p1,
            float *hs, int *hi, float *thr, int K, int selfStart, float *scratch) {
  {
    for (int i = 0; i < nq; i += ROWS) {
      const float *q0 = q + (int64_t)i * d, *q1 = q0 + d, *q2 = q1 + d, *q3 = q2 + d;
      v128_t t0 = wasm_f32x4_splat(thr[i]), t1 = wasm_f32x4_splat(thr[i + 1]);
      v128_t t2 = wasm_f32x4_splat(thr[i + 2]), t3 = wasm_f32x4_splat(thr[i + 3]);
      for (int p = p0; p < p1; p++) {
        const float *b = packed + (int64_t)p * d * PANEL;
        v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
        v128_t a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int k = 0; k < d; k++) {
          v128_t b0 = wasm_v128_load(b + k * PANEL), b1 = wasm_v128_load(b + k * PANEL + 4);
          v128_t x0 = wasm_f32x4_splat(q0[k]), x1 = wasm_f32x4_splat(q1[k]);
          v128_t x2 = wasm_f32x4_splat(q2[k]), x3 = wasm_f32x4_splat(q3[k]);
          a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, b0));
          a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, b1));
          a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, b0));
          a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, b1));
          a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, b0));
          a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, b1));
          a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, b0));
          a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, b1));
        }
        if (bias) {
          v128_t c0v = wasm_v128_load(bias + p * PANEL), c1v = wasm_v128_load(bias + p * PANEL + 4);
          a00 = wasm_f32x4_add(a00, c0v);
          a01 = wasm_f32x4_add(a01, c1v);
          a10 = wasm_f32x4_add(a10, c0v);
          a11 = wasm_f32x4_add(a11, c1v);
          a20 = wasm_f32x4_add(a20, c0v);
          a21 = wasm_f32x4_add(a21, c1v);
          a30 = wasm_f32x4_add(a30, c0v);
          a31 = wasm_f32x4_add(a31, c1v);
        }
        v128_t any = wasm_v128_or(wasm_v128_or(wasm_f32x4_gt(a00, t0), wasm_f32x4_gt(a01, t0)),
                                  wasm_v128_or(wasm_f32x4_gt(a10, t1), wasm_f32x4_gt(a11, t1)));
        any = wasm_v128_or(any, wasm_v128_or(wasm_v128_or(wasm_f32x4_gt(a20, t2), wasm_f32x4_gt(a21, t2)),
                                             wasm_v128_or(wasm_f32x4_gt(a30, t3), wasm_f32x4_gt(a31, t3))));
        if (!wasm_v128_any_true(any)) continue;
        wasm_v128_store(scratch, a00);
        wasm_v128_store(scratch + 4, a01);
        wasm_v128_store(scratch + 8, a10);
        wasm_v128_store(scratch + 12, a11);
        wasm_v128_store(scratch + 16, a20);
        wasm_v128_store(scratch + 20, a21);
        wasm_v128_store(scratch + 24, a30);
        wasm_v128_store(scratch + 28, a31);
        offer_tile(scratch, i, p, m, selfStart, hs, hi, thr, K);
        t0 = wasm_f32x4_splat(thr[i]);
        t1 = wasm_f32x4_splat(thr[i + 1]);
        t2 = wasm_f32x4_splat(thr[i + 2]);
        t3 = wasm_f32x4_splat(thr[i + 3]);
      }
    }
  }
}

/* Sort each of n heaps of K in place, best first (score descending, index ascending); the
 * sentinels of a heap that never filled end up last. */
EXPORT(sort_heaps)
void sort_heaps(float *hs, int *hi, int n, int K) {
  for (int row = 0; row < n; row++) {
    float *h = hs + (int64_t)row * K;
    int *hx = hi + (int64_t)row * K;
    for (int end = K - 1; end > 0; end--) {
      float s = h[end];
      int idx = hx[end];
      h[end] = h[0];
      hx[end] = hx[0];
      sift_down(h, hx, end, 0, s, idx);
    }
  }
}
