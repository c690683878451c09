import { deepDifferences } from '../support/analytics-fixture';

describe('deepDifferences (the differential tests\' comparison)', () => {
  it('takes floats summed in another order as equal, also across a rounding boundary', () => {
    expect(deepDifferences({ mean: 0.6817578124999999 }, { mean: 0.6817578125000001 })).toEqual([]);
    expect(deepDifferences([0.1 + 0.2, 1], [0.3, 1])).toEqual([]);
  });

  it('reports real differences with their path', () => {
    expect(deepDifferences({ a: [{ n: 3 }] }, { a: [{ n: 4 }] })).toEqual(['$.a[0].n: 3 !== 4']);
    expect(deepDifferences({ m: 0.5 }, { m: 0.5001 })).toEqual(['$.m: 0.5 !== 0.5001']);
    expect(deepDifferences({ m: 1.5 }, { m: 1.5000001 })).toEqual(['$.m: 1.5 !== 1.5000001']);
    expect(deepDifferences([1, 2], [1])).toEqual(['$: length 2 !== 1']);
    expect(deepDifferences({ k: 'a' }, { k: null })).toEqual(['$.k: "a" !== null']);
    expect(deepDifferences({ k: 1 }, {})).toEqual(['$.k: 1 !== undefined']);
  });
});
