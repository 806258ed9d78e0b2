import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyLocalShuffle,
  applySpanDeletion,
  applyTokenCrop,
  applyTokenMasking,
  localShuffle,
  randomTokenCrop,
  spanDeletion,
  tokenMasking,
} from './sequence.js';
import { onBothBackends } from './test-support/backends.js';
import { numbers, sum } from './test-support/images.js';

beforeAll(async () => {
  await useTestBackend();
});

const PAD = 0;

const MASK = 103;

/** `n` right-padded rows of length `length`: row `i` has a content length in [1, length], ids in 1..99. */
function paddedRows(n: number, length: number, seed = 0): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const content = 1 + rng.int(length);
    return Array.from({ length }, (_, t) => (t < content ? 1 + rng.int(99) : PAD));
  });
}

function tokensOf(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, (rows[0] as number[]).length], 'int32');
}

function rowsOf(tokens: tf.Tensor2D): number[][] {
  return tokens.arraySync();
}

/** Plain-JS reference of "padding stays, content compacts into the content slots, rest padded". */
function compact(row: number[], content: number[]): number[] {
  let next = 0;
  return row.map((token) => {
    if (token === PAD) return PAD;
    return next < content.length ? (content[next++] as number) : (next++, PAD);
  });
}

describe('applyTokenMasking', () => {
  it('writes the replacement at selected content positions only (hand-computed)', () => {
    const tokens = tf.tensor2d([[5, 6, 7, 0], [8, 9, 0, 0]], [2, 4], 'int32');
    const out = applyTokenMasking(tokens, { selected: [1, 0, 1, 1, 0, 1, 1, 0], replacement: [MASK, 0, -1, MASK, 0, 42, MASK, 0] }, { padId: PAD });
    expect(out.dtype).toBe('int32');
    expect(rowsOf(out)).toEqual([[MASK, 6, 7, 0], [8, 42, 0, 0]]);
    const noPad = applyTokenMasking(tokens, { selected: [0, 0, 0, 1, 0, 0, 0, 0], replacement: [0, 0, 0, MASK, 0, 0, 0, 0] });
    expect(rowsOf(noPad)).toEqual([[5, 6, 7, MASK], [8, 9, 0, 0]]);
    tf.dispose([tokens, out, noPad]);
  });

  it('rejects bad params', () => {
    const tokens = tf.tensor2d([[5, 6]], [1, 2], 'int32');
    expectContrastiveError(() => applyTokenMasking(tokens, { selected: [1, 0], replacement: [-2, 0] }), 'INVALID_ARGUMENT', /'params\.replacement\[0\]' .* must be an integer >= -1, got -2/);
    expectContrastiveError(() => applyTokenMasking(tokens, { selected: [1], replacement: [1, 0] }), 'SHAPE_MISMATCH', /'params\.selected' .* must have 2 entries \(n L = 1\*2\), got 1/);
    expectContrastiveError(() => applyTokenMasking(tf.ones([1, 2]) as tf.Tensor2D, { selected: [1, 0], replacement: [1, 0] }), 'DTYPE_MISMATCH', /'tokens' passed to 'applyTokenMasking' must have dtype int32, got float32/);
    expectContrastiveError(() => applyTokenMasking(tokens, { selected: [1, 0], replacement: [1, 0] }, { padId: -1 }), 'INVALID_ARGUMENT', /'padId' .* must be an integer >= 0, got -1/);
    tokens.dispose();
  });
});

describe('tokenMasking', () => {
  it('draw order without vocabSize: one uniform per position, every selected position gets maskId', () => {
    const rng = new Rng(1);
    const replay = rng.clone();
    const { selected, replacement } = tokenMasking({ maskId: MASK }).sample([3, 5], rng);
    for (let e = 0; e < 15; e++) {
      const chosen = replay.uniform() < 0.15;
      expect(selected[e]).toBe(chosen ? 1 : 0);
      expect(replacement[e]).toBe(chosen ? MASK : 0);
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('draw order with vocabSize (BERT 80/10/10): uniform, then uniform, then a uniform for a random token skipping padId', () => {
    const rng = new Rng(2);
    const replay = rng.clone();
    const { selected, replacement } = tokenMasking({ rate: 0.5, maskId: MASK, padId: 2, vocabSize: 6 }).sample([4, 10], rng);
    for (let e = 0; e < 40; e++) {
      if (!(replay.uniform() < 0.5)) {
        expect(selected[e]).toBe(0);
        continue;
      }
      expect(selected[e]).toBe(1);
      const v = replay.uniform();
      if (v < 0.8) expect(replacement[e]).toBe(MASK);
      else if (v < 0.9) {
        const id = Math.floor(replay.uniform() * 5);
        expect(replacement[e]).toBe(id >= 2 ? id + 1 : id);
      } else expect(replacement[e]).toBe(-1);
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('selection and split statistics; random ids are uniform over the vocabulary without padId', () => {
    const { selected, replacement } = tokenMasking({ maskId: 4, padId: 2, vocabSize: 5 }).sample([500, 100], new Rng(3));
    const count = sum(selected);
    expect(Math.abs(count / 50000 - 0.15)).toBeLessThan(0.005);
    const kinds = { random: 0, keep: 0 };
    const ids = new Map<number, number>();
    numbers(selected).forEach((flag, e) => {
      if (flag !== 1) return;
      const id = replacement[e] as number;
      if (id === -1) kinds.keep++;
      else if (id !== 4) kinds.random++;
      if (id >= 0) ids.set(id, (ids.get(id) ?? 0) + 1);
    });
    // Random draws may also hit id 4 (the mask id), so compare the non-mask random ids to 0.1 * 3/4.
    expect(Math.abs(kinds.keep / count - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(kinds.random / count - 0.075)).toBeLessThan(0.01);
    expect(ids.has(2)).toBe(false);
    for (const id of [0, 1, 3]) expect(Math.abs((ids.get(id) ?? 0) / count - 0.025)).toBeLessThan(0.006);
  });

  it('apply = applyTokenMasking(sample); padding is never masked; int32 and shape kept; other seeds differ; no leak', async () => {
    const rows = paddedRows(16, 12, 4);
    const tokens = tokensOf(rows);
    const masking = tokenMasking({ rate: 0.3, maskId: MASK, padId: PAD, vocabSize: 120 });
    await expectNoLeak(() => {
      const params = masking.sample([16, 12], new Rng(5));
      const expected = applyTokenMasking(tokens, params, { padId: PAD });
      const got = masking.apply(tokens, new Rng(5));
      const other = masking.apply(tokens, new Rng(6));
      expect(got.dtype).toBe('int32');
      expect(got.shape).toEqual([16, 12]);
      expect(rowsOf(got)).toEqual(rowsOf(expected));
      expect(rowsOf(other)).not.toEqual(rowsOf(got));
      const out = rowsOf(got);
      rows.forEach((row, i) =>
        row.forEach((token, t) => {
          const e = i * 12 + t;
          if (token === PAD) expect(out[i]?.[t]).toBe(PAD);
          else if (params.selected[e] === 1 && (params.replacement[e] as number) >= 0) expect(out[i]?.[t]).toBe(params.replacement[e]);
          else expect(out[i]?.[t]).toBe(token);
        }),
      );
      tf.dispose([expected, got, other]);
    });
    tokens.dispose();
  });

  it('rate 0 copies; rate 1 masks every content token and no padding', () => {
    const rows = paddedRows(5, 8, 7);
    const tokens = tokensOf(rows);
    const none = tokenMasking({ rate: 0, maskId: MASK, padId: PAD }).apply(tokens, new Rng(0));
    expect(rowsOf(none)).toEqual(rows);
    const all = tokenMasking({ rate: 1, maskId: MASK, padId: PAD }).apply(tokens, new Rng(0));
    expect(rowsOf(all)).toEqual(rows.map((row) => row.map((token) => (token === PAD ? PAD : MASK))));
    tf.dispose([tokens, none, all]);
  });

  it('is bit-identical on cpu and wasm', async () => {
    const rows = paddedRows(32, 20, 8);
    const { cpu, wasm } = await onBothBackends(() => tokenMasking({ maskId: MASK, padId: PAD, vocabSize: 100 }).apply(tokensOf(rows), new Rng(9)));
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => tokenMasking({} as never), 'INVALID_ARGUMENT', /'maskId' passed to 'tokenMasking' must be an integer >= 0, got undefined/);
    expectContrastiveError(() => tokenMasking({ maskId: 0, padId: 0 }), 'INVALID_ARGUMENT', /'maskId' passed to 'tokenMasking' must differ from 'padId', got both 0/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, rate: 2 }), 'INVALID_ARGUMENT', /'rate' .* got 2/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, split: [0.5, 0.5, 0.5] }), 'INVALID_ARGUMENT', /'split' passed to 'tokenMasking' must sum to 1/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, split: [0.8, 0.2] as never }), 'INVALID_ARGUMENT', /'split' .* must be \[mask, random, keep\]/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, split: [0.8, 0.1, 0.1] }), 'INVALID_ARGUMENT', /'vocabSize' .* at least one non-padding id when split\[1\] \(random\) > 0, got undefined/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, padId: 0, vocabSize: 1 }), 'INVALID_ARGUMENT', /'vocabSize' .* got 1/);
    expectContrastiveError(() => tokenMasking({ maskId: 1, vocabSize: 2.5 }), 'INVALID_ARGUMENT', /'vocabSize' .* must be an integer >= 1, got 2\.5/);
    expectContrastiveError(() => tokenMasking({ maskId: 1 }).apply(tf.ones([2, 3, 1], 'int32') as never, new Rng(0)), 'SHAPE_MISMATCH', /'tokens' passed to 'tokenMasking\.apply' must be rank 2/);
    // Keep-only split needs no vocabulary.
    expect(tokenMasking({ maskId: 1, split: [0.5, 0, 0.5] }).name).toBe('tokenMasking');
  });
});

describe('applySpanDeletion', () => {
  it('deletes the given span, shifts left and pads right; padding never moves (hand-computed)', () => {
    const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0], [0, 0, 5, 6, 7, 8]], [2, 6], 'int32');
    const out = applySpanDeletion(tokens, { deleted: [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0] }, { padId: PAD });
    // Row 0: 6, 7 deleted (the flag on the padding slot is ignored). Row 1 is left-padded: 6, 7 deleted,
    // the content slots 2..5 receive [5, 8] and padding.
    expect(rowsOf(out)).toEqual([[5, 8, 9, 0, 0, 0], [0, 0, 5, 8, 0, 0]]);
    expect(out.dtype).toBe('int32');
    tf.dispose([tokens, out]);
  });

  it('equals a plain-JS reference on random rows', () => {
    const rows = paddedRows(20, 15, 11);
    const rng = new Rng(12);
    const deleted = Array.from({ length: 300 }, () => (rng.uniform() < 0.3 ? 1 : 0));
    const tokens = tokensOf(rows);
    const out = applySpanDeletion(tokens, { deleted }, { padId: PAD });
    expect(rowsOf(out)).toEqual(rows.map((row, i) => compact(row, row.filter((token, t) => token !== PAD && deleted[i * 15 + t] !== 1))));
    tf.dispose([tokens, out]);
  });

  it('rejects bad arguments', () => {
    const tokens = tf.tensor2d([[5, 6]], [1, 2], 'int32');
    expectContrastiveError(() => applySpanDeletion(tokens, { deleted: [1, 0] }, {} as never), 'INVALID_ARGUMENT', /'padId' passed to 'applySpanDeletion' must be an integer >= 0, got undefined/);
    expectContrastiveError(() => applySpanDeletion(tokens, { deleted: [1, 0, 0] }, { padId: 0 }), 'SHAPE_MISMATCH', /'params\.deleted' .* must have 2 entries/);
    tokens.dispose();
  });
});

describe('spanDeletion', () => {
  it('draw order: a left-to-right walk, one uniform per step and one more (length 1 + floor(w maxSpan)) per started span', () => {
    const rng = new Rng(13);
    const replay = rng.clone();
    const { deleted } = spanDeletion({ rate: 0.3, maxSpan: 4, padId: PAD }).sample([3, 17], rng);
    const q = 0.3 / (2.5 * 0.7 + 0.3);
    const expected = new Uint8Array(51);
    for (let i = 0; i < 3; i++) {
      let t = 0;
      while (t < 17) {
        if (replay.uniform() < q) {
          const span = 1 + Math.floor(replay.uniform() * 4);
          for (let k = t; k < Math.min(t + span, 17); k++) expected[i * 17 + k] = 1;
          t += span;
        } else t++;
      }
    }
    expect(Array.from(deleted)).toEqual(Array.from(expected));
    expect(rng.state()).toEqual(replay.state());
  });

  it.each([
    [0.1, 1],
    [0.3, 3],
    [0.5, 5],
  ])('deletes a fraction ~ rate of long rows (rate %s, maxSpan %s)', (rate, maxSpan) => {
    const { deleted } = spanDeletion({ rate, maxSpan, padId: PAD }).sample([200, 400], new Rng(14));
    expect(Math.abs(sum(deleted) / 80000 - rate)).toBeLessThan(0.015);
  });

  it('apply = applySpanDeletion(sample); rate 0 copies, rate 1 leaves only padding; no leak', async () => {
    const rows = paddedRows(12, 10, 15);
    const tokens = tokensOf(rows);
    await expectNoLeak(() => {
      const deletion = spanDeletion({ rate: 0.25, maxSpan: 3, padId: PAD });
      const expected = applySpanDeletion(tokens, deletion.sample([12, 10], new Rng(16)), { padId: PAD });
      const got = deletion.apply(tokens, new Rng(16));
      expect(rowsOf(got)).toEqual(rowsOf(expected));
      expect(got.shape).toEqual([12, 10]);
      const none = spanDeletion({ rate: 0, padId: PAD }).apply(tokens, new Rng(0));
      expect(rowsOf(none)).toEqual(rows);
      const all = spanDeletion({ rate: 1, padId: PAD }).apply(tokens, new Rng(0));
      expect(rowsOf(all)).toEqual(rows.map((row) => row.map(() => PAD)));
      tf.dispose([expected, got, none, all]);
    });
    tokens.dispose();
  });

  it('n = 1, L = 1; bit-identical on cpu and wasm', async () => {
    const one = tf.tensor2d([[7]], [1, 1], 'int32');
    const out = spanDeletion({ rate: 1, padId: PAD }).apply(one, new Rng(0));
    expect(rowsOf(out)).toEqual([[PAD]]);
    tf.dispose([one, out]);
    const rows = paddedRows(32, 24, 17);
    const { cpu, wasm } = await onBothBackends(() => spanDeletion({ rate: 0.2, padId: PAD }).apply(tokensOf(rows), new Rng(18)));
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => spanDeletion({} as never), 'INVALID_ARGUMENT', /'padId' passed to 'spanDeletion' must be an integer >= 0, got undefined/);
    expectContrastiveError(() => spanDeletion({ padId: 0, maxSpan: 0 }), 'INVALID_ARGUMENT', /'maxSpan' .* must be an integer >= 1, got 0/);
    expectContrastiveError(() => spanDeletion({ padId: 0, rate: -1 }), 'INVALID_ARGUMENT', /'rate' .* got -1/);
  });
});

describe('applyTokenCrop', () => {
  it('keeps the given window of content and pads the rest (hand-computed)', () => {
    const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0], [5, 6, 0, 0, 0, 0]], [2, 6], 'int32');
    const out = applyTokenCrop(tokens, { start: [1, 0] }, { length: 3, padId: PAD });
    expect(rowsOf(out)).toEqual([[6, 7, 8, 0, 0, 0], [5, 6, 0, 0, 0, 0]]);
    tf.dispose([tokens, out]);
  });

  it('rejects a start outside the row content', () => {
    const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0], [5, 6, 0, 0, 0, 0]], [2, 6], 'int32');
    expectContrastiveError(() => applyTokenCrop(tokens, { start: [3, 0] }, { length: 3, padId: PAD }), 'INVALID_ARGUMENT', /'params\.start\[0\]' .* must be an integer in \[0, 2\] \(row 0 has 5 content tokens, length 3\), got 3/);
    expectContrastiveError(() => applyTokenCrop(tokens, { start: [0, 1] }, { length: 3, padId: PAD }), 'INVALID_ARGUMENT', /'params\.start\[1\]' .* \[0, 0\]/);
    expectContrastiveError(() => applyTokenCrop(tokens, { start: [0, 0] }, { length: 0, padId: PAD }), 'INVALID_ARGUMENT', /'length' passed to 'applyTokenCrop' must be an integer >= 1, got 0/);
    tokens.dispose();
  });
});

describe('randomTokenCrop', () => {
  it('draws one uniform per row: start = floor(u (k - length + 1)); apply = applyTokenCrop(sample); reference; no leak', async () => {
    const rows = paddedRows(30, 12, 19);
    const tokens = tokensOf(rows);
    const crop = randomTokenCrop({ length: 4, padId: PAD });
    await expectNoLeak(() => {
      const rng = new Rng(20);
      const replay = rng.clone();
      const { start } = crop.sample(tokens, rng);
      rows.forEach((row, i) => {
        const k = row.filter((token) => token !== PAD).length;
        expect(start[i]).toBe(Math.floor(replay.uniform() * (Math.max(0, k - 4) + 1)));
      });
      expect(rng.state()).toEqual(replay.state());
      const got = crop.apply(tokens, new Rng(20));
      const expected = applyTokenCrop(tokens, { start }, { length: 4, padId: PAD });
      expect(rowsOf(got)).toEqual(rowsOf(expected));
      expect(rowsOf(got)).toEqual(
        rows.map((row, i) => {
          const content = row.filter((token) => token !== PAD);
          return content.length <= 4 ? row : compact(row, content.slice(start[i], (start[i] as number) + 4));
        }),
      );
      tf.dispose([got, expected]);
    });
    tokens.dispose();
  });

  it('starts are uniform over the windows of a row; bit-identical on cpu and wasm', async () => {
    const tokens = tf.tensor2d(Array.from({ length: 3000 }, () => [1, 2, 3, 4, 5, 0]), [3000, 6], 'int32');
    const { start } = randomTokenCrop({ length: 2, padId: PAD }).sample(tokens, new Rng(21));
    for (let s = 0; s < 4; s++) expect(Math.abs(Array.from(start).filter((value) => value === s).length / 3000 - 0.25)).toBeLessThan(0.03);
    tokens.dispose();
    const rows = paddedRows(32, 16, 22);
    const { cpu, wasm } = await onBothBackends(() => randomTokenCrop({ length: 5, padId: PAD }).apply(tokensOf(rows), new Rng(23)));
    expect(cpu).toEqual(wasm);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => randomTokenCrop({ padId: 0 } as never), 'INVALID_ARGUMENT', /'length' passed to 'randomTokenCrop' must be an integer >= 1, got undefined/);
    expectContrastiveError(() => randomTokenCrop({ length: 3 } as never), 'INVALID_ARGUMENT', /'padId' passed to 'randomTokenCrop' must be an integer >= 0, got undefined/);
  });
});

describe('applyLocalShuffle', () => {
  it('applies a known permutation; padding stays (hand-computed)', () => {
    const tokens = tf.tensor2d([[5, 6, 7, 8, 9, 0]], [1, 6], 'int32');
    const padded = applyLocalShuffle(tokens, { order: [2, 0, 1, 5, 3, 4] }, { padId: PAD });
    expect(rowsOf(padded)).toEqual([[7, 5, 6, 8, 9, 0]]);
    const plain = applyLocalShuffle(tokens, { order: [2, 0, 1, 5, 3, 4] });
    expect(rowsOf(plain)).toEqual([[7, 5, 6, 0, 8, 9]]);
    tf.dispose([tokens, padded, plain]);
  });

  it('rejects an order that is not a permutation', () => {
    const tokens = tf.tensor2d([[5, 6, 7]], [1, 3], 'int32');
    expectContrastiveError(() => applyLocalShuffle(tokens, { order: [0, 0, 1] }), 'INVALID_ARGUMENT', /'params\.order' .* must hold a permutation of 0\.\.2 per row, but row 0 repeats 0/);
    expectContrastiveError(() => applyLocalShuffle(tokens, { order: [0, 1, 3] }), 'INVALID_ARGUMENT', /'params\.order\[2\]' .* must be an integer >= 0 and <= 2, got 3/);
    tokens.dispose();
  });
});

describe('localShuffle', () => {
  it('draw order: a Fisher–Yates shuffle per window, left to right; each window maps onto itself', () => {
    const rng = new Rng(24);
    const replay = rng.clone();
    const { order } = localShuffle({ window: 3 }).sample([2, 8], rng);
    for (let i = 0; i < 2; i++) {
      for (const [begin, size] of [[0, 3], [3, 3], [6, 2]] as const) {
        const window = Array.from({ length: size }, (_, k) => begin + k);
        for (let k = size - 1; k > 0; k--) {
          const j = Math.floor(replay.uniform() * (k + 1));
          [window[k], window[j]] = [window[j] as number, window[k] as number];
        }
        expect(Array.from(order).slice(i * 8 + begin, i * 8 + begin + size)).toEqual(window);
      }
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('apply = applyLocalShuffle(sample); windows keep their tokens; padding stays; no leak', async () => {
    const rows = paddedRows(20, 11, 25);
    const tokens = tokensOf(rows);
    const shuffle = localShuffle({ window: 4, padId: PAD });
    await expectNoLeak(() => {
      const got = shuffle.apply(tokens, new Rng(26));
      const expected = applyLocalShuffle(tokens, shuffle.sample([20, 11], new Rng(26)), { padId: PAD });
      const out = rowsOf(got);
      expect(out).toEqual(rowsOf(expected));
      rows.forEach((row, i) => {
        for (let begin = 0; begin < 11; begin += 4) {
          const before = row.slice(begin, begin + 4);
          const after = (out[i] as number[]).slice(begin, begin + 4);
          expect([...after].sort((a, b) => a - b)).toEqual([...before].sort((a, b) => a - b));
          before.forEach((token, k) => {
            if (token === PAD) expect(after[k]).toBe(PAD);
          });
        }
      });
      tf.dispose([got, expected]);
    });
    tokens.dispose();
  });

  it('window 1 is the identity; a window >= L shuffles whole rows uniformly', () => {
    const tokens = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const same = localShuffle({ window: 1 }).apply(tokens, new Rng(0));
    expect(rowsOf(same)).toEqual([[1, 2, 3]]);
    const counts = new Map<string, number>();
    const shuffle = localShuffle({ window: 5 });
    const rng = new Rng(27);
    for (let r = 0; r < 1200; r++) {
      const key = Array.from(shuffle.sample([1, 3], rng).order).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const count of counts.values()) expect(Math.abs(count / 1200 - 1 / 6)).toBeLessThan(0.04);
    tf.dispose([tokens, same]);
  });

  it('is bit-identical on cpu and wasm; rejects bad options', async () => {
    const rows = paddedRows(32, 16, 28);
    const { cpu, wasm } = await onBothBackends(() => localShuffle({ padId: PAD }).apply(tokensOf(rows), new Rng(29)));
    expect(cpu).toEqual(wasm);
    expectContrastiveError(() => localShuffle({ window: 0 }), 'INVALID_ARGUMENT', /'window' passed to 'localShuffle' must be an integer >= 1, got 0/);
    expectContrastiveError(() => localShuffle({ padId: 1.5 }), 'INVALID_ARGUMENT', /'padId' .* got 1\.5/);
  });
});
