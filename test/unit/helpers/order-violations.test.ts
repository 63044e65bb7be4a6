import { describe, expect, it } from 'vitest';
import { orderViolations, type ConsumedRecord } from '../../helpers/kafka.js';

const rec = (offset: number, value: string): ConsumedRecord => ({
  partition: 0,
  offset,
  key: 'k',
  value,
  timestamp: 0,
});

describe('the fault tests’ order check', () => {
  const inOrder = ['a#1', 'a#2', 'a#3', 'a#4'].map((v, i) => rec(i, v));
  const resent = [...inOrder, rec(4, 'a#3'), rec(5, 'a#4'), rec(6, 'a#5')];
  const swapped = [rec(0, 'a#1'), rec(1, 'a#3'), rec(2, 'a#2'), rec(3, 'a#4')];

  it('counts a re-sent range as a step back, unless only first deliveries count', () => {
    expect(orderViolations(inOrder, () => 0)).toBe(0);
    expect(orderViolations(resent, () => 0)).toBe(1);
    expect(orderViolations(resent, () => 0, { firstDeliveries: true })).toBe(0);
  });

  it('still counts lines first delivered out of order', () => {
    expect(orderViolations(swapped, () => 0)).toBe(1);
    expect(orderViolations(swapped, () => 0, { firstDeliveries: true })).toBe(1);
    expect(orderViolations([...swapped, rec(4, 'a#3')], () => 0, { firstDeliveries: true })).toBe(
      1,
    );
  });
});
