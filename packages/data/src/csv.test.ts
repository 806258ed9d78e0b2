import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isContrastiveError } from '@contrastive/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { loadCsv } from './node/csv.js';

function dataError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (!isContrastiveError(error)) throw error;
    expect(error.code).toBe('DATA');
    return error.message;
  }
  throw new Error('expected a DATA error');
}

describe('parseCsv: tables', () => {
  it('a header, string classes (sorted), the label last by default', () => {
    const table = parseCsv('x,y,class\n0.5,1,dog\n2,-0.25,cat\n3e2,4,dog\n');
    expect(table.rows).toBe(3);
    expect(table.columns).toBe(2);
    expect(table.featureNames).toEqual(['x', 'y']);
    expect(table.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(table.labels)).toEqual([1, 0, 1]);
    expect(Array.from(table.features)).toEqual([0.5, 1, 2, -0.25, 300, 4]);
  });

  it('no header (detected), integer classes kept as they are, label column by index', () => {
    const table = parseCsv('2,0.5,1\n0,1.5,2\n', { labelColumn: 0 });
    expect(table.featureNames).toEqual(['column 2', 'column 3']);
    expect(Array.from(table.labels)).toEqual([2, 0]);
    expect(table.classNames).toEqual(['0', '1', '2']);
    expect(Array.from(table.features)).toEqual([0.5, 1, 1.5, 2]);
  });

  it('label column by name, quoted fields with delimiters and line breaks, CRLF, blank lines, semicolons', () => {
    const text = '"a";"label";"b"\r\n1;"x;y";2\r\n\r\n3;"multi\nline";4\r\n';
    const table = parseCsv(text, { labelColumn: 'label' });
    expect(table.featureNames).toEqual(['a', 'b']);
    expect(table.classNames).toEqual(['multi\nline', 'x;y']);
    expect(Array.from(table.labels)).toEqual([1, 0]);
    expect(Array.from(table.features)).toEqual([1, 2, 3, 4]);
  });

  it('header: false reads a numeric first row as data; header: true drops it', () => {
    expect(parseCsv('1,2,0\n3,4,1\n', { header: false }).rows).toBe(2);
    expect(parseCsv('1,2,0\n3,4,1\n', { header: true }).rows).toBe(1);
  });
});

describe('parseCsv: malformed files name the file and the line', () => {
  const file = { fileName: 'data/iris.csv' };
  it('a missing value', () => {
    expect(dataError(() => parseCsv('a,b,c\n1,2,0\n3,,1\n', file))).toBe("CSV file 'data/iris.csv' line 3: missing value in column 'b'");
  });
  it('a missing label', () => {
    expect(dataError(() => parseCsv('1,2,0\n3,4,\n', file))).toBe("CSV file 'data/iris.csv' line 2: missing label in column 3");
  });
  it('ragged rows: fewer and more fields than the first', () => {
    expect(dataError(() => parseCsv('a,b,c\n1,2,0\n\n3,1\n', file))).toBe("CSV file 'data/iris.csv' line 4: has 2 fields, expected 3 (as on line 1)");
    expect(dataError(() => parseCsv('1,2,0\n3,4,5,1\n', file))).toBe("CSV file 'data/iris.csv' line 2: has 4 fields, expected 3 (as on line 1)");
  });
  it('a cell that is not a finite number', () => {
    expect(dataError(() => parseCsv('a,b,c\n1,2,0\n1,abc,1\n', file))).toBe(`CSV file 'data/iris.csv' line 3: column 'b' holds "abc", not a finite number`);
    expect(dataError(() => parseCsv('a,b,c\n1,Infinity,0\n', file))).toMatch(/line 2: column 'b' holds "Infinity", not a finite number/);
    expect(dataError(() => parseCsv('a,b,c\n1,1e39,0\n', file))).toMatch(/line 2: column 'b' holds 1e39, beyond float32/);
  });
  it('a quote that never closes, an empty file, a header only, a single column', () => {
    expect(dataError(() => parseCsv('a,b,c\n1,"2,0\n', file))).toMatch(/^CSV file 'data\/iris.csv' line 2: /);
    expect(dataError(() => parseCsv('\n\n', file))).toBe("CSV file 'data/iris.csv' has no rows: expected a header or data rows");
    expect(dataError(() => parseCsv('a,b,c\n', file))).toBe("CSV file 'data/iris.csv' has no data rows: only a header");
    expect(dataError(() => parseCsv('1\n2\n', file))).toMatch(/line 1: has 1 field; a table needs at least one feature and a label column/);
  });
});

describe('loadCsv (node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'contrastive-csv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file (a UTF-8 BOM is dropped) and names the path in errors', async () => {
    const good = join(dir, 'good.csv');
    writeFileSync(good, '\ufeffx,class\n1,a\n2,b\n');
    const table = await loadCsv(good);
    expect(table.featureNames).toEqual(['x']);
    expect(Array.from(table.labels)).toEqual([0, 1]);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'x,class\n1,a\n,b\n');
    await expect(loadCsv(bad)).rejects.toThrow(`CSV file '${bad}' line 3: missing value in column 'x'`);
    await expect(loadCsv(join(dir, 'none.csv'))).rejects.toThrow(/CSV file '.*none.csv' could not be read: .*ENOENT/);
  });
});
