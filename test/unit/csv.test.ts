import { csvField, toCsv } from '../../src/csv.js';
import { parseCsv } from '../helpers/csv.js';

describe('CSV', () => {
  it('quotes only fields that need it and doubles their quotes', () => {
    expect(csvField('conv1')).toBe('conv1');
    expect(csvField('T-shirt/top')).toBe('T-shirt/top');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField('')).toBe('');
  });

  it('writes numbers in full precision, booleans as words and nothing for null or non-finite', () => {
    expect(csvField(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(1e-7)).toBe('1e-7');
    expect(csvField(true)).toBe('true');
    expect(csvField(false)).toBe('false');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(NaN)).toBe('');
    expect(csvField(Infinity)).toBe('');
  });

  it('round-trips through a CSV parser', () => {
    const header = ['layer', 'clusters', 'snr', 'silent'];
    const rows = [
      ['conv1', 'T-shirt/top+Shirt | Bag', 1.5, false],
      ['conv "2"', 'a,b', null, true],
      ['conv3', 'multi\nline', 0, false],
    ];
    const text = toCsv(header, rows);
    expect(text.endsWith('\n')).toBe(true);
    expect(parseCsv(text)).toEqual([
      header,
      ['conv1', 'T-shirt/top+Shirt | Bag', '1.5', 'false'],
      ['conv "2"', 'a,b', '', 'true'],
      ['conv3', 'multi\nline', '0', 'false'],
    ]);
  });

  it('refuses a row whose length differs from the header', () => {
    expect(() => toCsv(['a', 'b'], [[1]])).toThrow('CSV row has 1 fields, the header 2');
  });
});
