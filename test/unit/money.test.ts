import { usdNumber, usdText, usdUnits } from '../../src/shared/money';

describe('money: exact sums in 10⁻⁸ USD units', () => {
  it('parses numeric text and prints the shortest decimal', () => {
    expect(usdUnits('65.29380212')).toBe(6529380212n);
    expect(usdUnits('0')).toBe(0n);
    expect(usdUnits('12')).toBe(1200000000n);
    expect(usdUnits('-1.5')).toBe(-150000000n);
    expect(usdUnits('0.000000015')).toBe(2n); // a 9th digit rounds half away from zero
    expect(usdUnits(null)).toBe(0n);
    expect(usdUnits('0.5')).toBe(50000000n);
    expect(usdUnits('007.00000001')).toBe(700000001n);
    expect(usdUnits('1.')).toBe(100000000n);
    expect(usdUnits('-0.123456785')).toBe(-12345679n); // half away from zero, negative too
    expect(usdUnits('0.999999995')).toBe(100000000n); // the rounding carries into the integer part
    expect(usdUnits(0.1)).toBe(10000000n);
    expect(usdText(6529380212n)).toBe('65.29380212');
    expect(usdText(-150000000n)).toBe('-1.5');
    expect(usdText(0n)).toBe('0');
    expect(() => usdUnits('1e5')).toThrow(/decimal/);
  });

  it('adds partial sums without float noise, in any order', () => {
    // The figures: float addition of the same parts gives 65.29380212000001 or 4.656789749999999.
    const parts = ['0.00102202', '17.17693575', '48.11584435'];
    expect(parts.map(Number).reduce((a, b) => a + b, 0)).toBe(65.29380212000001);
    const sum = parts.map(usdUnits).reduce((a, b) => a + b, 0n);
    expect(usdNumber(sum)).toBe(65.29380212);
    expect(usdNumber([...parts].reverse().map(usdUnits).reduce((a, b) => a + b, 0n))).toBe(65.29380212);
    // Beyond 2^53 units (90 million USD) the text route still gives the nearest double.
    expect(usdNumber(usdUnits('123456789.12345678'))).toBe(123456789.12345678);
  });
});
