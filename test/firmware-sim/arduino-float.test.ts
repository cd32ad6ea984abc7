import { describe, expect, it } from 'vitest';
import { arduinoPrintFloat } from '../../firmware-sim/arduino-float.ts';
import { adcAt, firmwareTemperature, Thermistor } from '../../firmware-sim/thermistor.ts';
import { formatBoardValue } from '../../firmware-sim/board-protocol.ts';
import { parseValue } from '../../src/protocol/message.ts';

describe('arduinoPrintFloat', () => {
  it('prints two decimals as Print::printFloat does', () => {
    expect(arduinoPrintFloat(21.5)).toBe('21.50');
    expect(arduinoPrintFloat(-3.25)).toBe('-3.25');
    expect(arduinoPrintFloat(1.999)).toBe('2.00');
    expect(arduinoPrintFloat(0)).toBe('0.00');
    expect(arduinoPrintFloat(-0.001)).toBe('-0.00');
  });
  it('prints nan, inf and ovf for what a board cannot print', () => {
    expect(arduinoPrintFloat(Number.NaN)).toBe('nan');
    expect(arduinoPrintFloat(Number.POSITIVE_INFINITY)).toBe('inf');
    expect(arduinoPrintFloat(5e9)).toBe('ovf');
  });
  it('prints as the AVR does where 32-bit and 64-bit printing differ', () => {
    // 36.994999 → 37.00 was measured on an ATmega328P under simavr; the others are the AVR
    // core's Print::printFloat compiled for the host with float as its double (64-bit
    // printing gives the second column).
    const cases: Array<[number, string, string]> = [
      [36.994999, '37.00', '36.99'],
      [0.125, '0.12', '0.13'],
      [2.675, '2.68', '2.67'],
      [99.994999, '100.00', '99.99'],
      [1234.565, '1234.56', '1234.57'],
      [40.924999, '40.93', '40.92'],
      [16777217, '16777216.00', '16777217.00'],
    ];
    for (const [value, avr] of cases) expect(arduinoPrintFloat(value), String(value)).toBe(avr);
  });

  it('shows 32-bit float rounding (0.1 + 0.005 in float32)', () => {
    expect(arduinoPrintFloat(0.1, 3)).toBe('0.100');
    expect(arduinoPrintFloat(18.06)).toBe('18.06');
  });
});

describe('thermistor model', () => {
  it('reads back about the temperature it was given', () => {
    for (const t of [-20, 0, 21.5, 40, 80]) expect(Math.abs(firmwareTemperature(adcAt(t)) - t)).toBeLessThan(0.6);
  });
  it('prints values the gateway accepts', () => {
    const th = new Thermistor({ random: () => 0.5 });
    for (let i = 0; i < 100; i++) expect(parseValue(formatBoardValue(th.read(i * 3_600_000)))).not.toBeNull();
  });
  it('prints integers plainly and U as U', () => {
    expect(formatBoardValue({ int: 40 })).toBe('40');
    expect(formatBoardValue('U')).toBe('U');
  });
});
