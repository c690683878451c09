import { addPackedCells, percentileFromHistogram, type SparseHistogram } from '../../../src/query/latency-histogram';

describe('addPackedCells', () => {
  it('adds each cell:count of the packed text into the histogram, summing cells already there', () => {
    const h: SparseHistogram = new Map([[3, 2]]);
    addPackedCells(h, '0:1,3:5,42:1000000,102:7');
    expect([...h].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 1],
      [3, 7],
      [42, 1_000_000],
      [102, 7],
    ]);
  });

  it('reads one cell and the empty text (a level without cells adds nothing)', () => {
    const h: SparseHistogram = new Map();
    addPackedCells(h, '');
    expect(h.size).toBe(0);
    addPackedCells(h, '17:3');
    expect([...h]).toEqual([[17, 3]]);
  });

  it('gives the same percentiles as the cells added one by one', () => {
    const cells: [number, number][] = [[5, 3], [20, 40], [21, 1], [60, 9]];
    const one: SparseHistogram = new Map(cells);
    const packed: SparseHistogram = new Map();
    addPackedCells(packed, cells.map(([c, n]) => `${c}:${n}`).join(','));
    for (const p of [0.5, 0.95, 0.99]) expect(percentileFromHistogram(packed, p, 2, 5000)).toBe(percentileFromHistogram(one, p, 2, 5000));
  });
});
