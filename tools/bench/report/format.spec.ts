import { type Table, fmtMedian, fmtSpread, markdownTable, num, pair, sizeLabel, textTable } from './format';
import { spread } from '../stats';

describe('figures', () => {
  it('names sizes in KiB when they are whole KiB', () => {
    expect([16, 1000, 1024, 65536, 1536, 1048576, 1049600].map(sizeLabel)).toEqual([
      '16 B',
      '1000 B',
      '1 KiB',
      '64 KiB',
      '1536 B',
      '1 MiB',
      '1025 KiB',
    ]);
  });

  it('writes a number with separators and fixed decimals, and a dash for what is not one', () => {
    expect([num(12345.678), num(0.5, 2), num(NaN), num(Infinity, 1)]).toEqual(['12,346', '0.50', '–', '–']);
  });

  it('writes a spread as median [min–max], the median alone for one value, a dash for none', () => {
    expect(fmtSpread(spread([3, 1, 2]), 1)).toBe('2.0 [1.0–3.0]');
    expect(fmtSpread(spread([7]))).toBe('7');
    expect([fmtSpread(spread([])), fmtSpread(undefined)]).toEqual(['–', '–']);
    expect(pair(spread([1]), undefined)).toBe('1.00 / –');
    expect([fmtMedian(spread([1, 2, 4]), 1), fmtMedian(spread([])), fmtMedian(undefined)]).toEqual(['2.0', '–', '–']);
  });
});

describe('tables', () => {
  const t: Table = {
    title: 'T',
    head: ['size', 'workers', 'req/s'],
    rows: [
      ['16 B', '1', '1,000'],
      ['1 KiB', '4', '5'],
    ],
    notes: ['a | b'],
  };

  it('aligns the first two columns left and the figures right, notes indented', () => {
    expect(textTable(t)).toBe(
      ['T', 'size   workers  req/s', '-----  -------  -----', '16 B   1        1,000', '1 KiB  4            5', '  a | b'].join('\n'),
    );
  });

  it('writes Markdown with the figures right-aligned and pipes escaped in cells', () => {
    expect(markdownTable({ ...t, rows: [['a|b', '1', '2']] })).toBe(
      ['**T**', '', '| size | workers | req/s |', '| --- | --- | ---: |', '| a\\|b | 1 | 2 |', '', '- a | b'].join('\n'),
    );
    expect(markdownTable({ ...t, notes: undefined })).not.toMatch(/\n- /);
  });
});
