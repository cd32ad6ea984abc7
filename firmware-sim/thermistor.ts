const f = Math.fround;

export interface ThermistorOptions {
  /** Mean air temperature, °C. Default 20. */
  meanC?: number;
  /** Day/night swing, ±°C. Default 6. */
  swingC?: number;
  /** Period of the swing, ms. Default one day. */
  periodMs?: number;
  /** Random noise in °C (standard deviation). Default 0.05. */
  noiseC?: number;
  /** A source of uniform [0,1) numbers; pass a seeded one for repeatable runs. */
  random?: () => number;
}

// A 10 kΩ NTC (B = 3950) under a 10 kΩ series resistor from 5 V into a 10-bit ADC,
// the usual rrduino wiring; the firmware converts with the B-parameter equation.
const R0 = 10_000;
const T0 = 298.15;
const BETA = 3950;
const R_SERIES = 10_000;

/** The ADC count `analogRead` gives at `tempC` (thermistor on the low side). */
export function adcAt(tempC: number): number {
  const r = R0 * Math.exp(BETA * (1 / (tempC + 273.15) - 1 / T0));
  return Math.max(1, Math.min(1022, Math.round((1023 * r) / (r + R_SERIES))));
}

/**
 * What the firmware computes from an ADC count (firmware/src/RRDuinoThermistor.h), step by
 * step in the AVR's 32-bit floats; NaN for an open or shorted thermistor (0 or 1023).
 */
export function firmwareTemperature(adc: number): number {
  if (adc <= 0 || adc >= 1023) return NaN;
  const ohms = f(f(R_SERIES * adc) / (1023 - adc));
  const inverseKelvin = f(f(1 / f(T0)) + f(f(Math.log(f(ohms / R0))) / BETA));
  return f(f(1 / inverseKelvin) - f(273.15));
}

/** A thermistor in a room whose temperature swings slowly, read the way the board reads it. */
export class Thermistor {
  readonly #o: Required<ThermistorOptions>;
  constructor(options: ThermistorOptions = {}) {
    this.#o = {
      meanC: options.meanC ?? 20,
      swingC: options.swingC ?? 6,
      periodMs: options.periodMs ?? 86_400_000,
      noiseC: options.noiseC ?? 0.05,
      random: options.random ?? Math.random,
    };
  }

  /** The temperature the firmware would print at `timeMs`. */
  read(timeMs: number): number {
    const o = this.#o;
    const gauss = Math.sqrt(-2 * Math.log(1 - o.random())) * Math.cos(2 * Math.PI * o.random());
    const trueC = o.meanC + o.swingC * Math.sin((2 * Math.PI * timeMs) / o.periodMs) + o.noiseC * gauss;
    return firmwareTemperature(adcAt(trueC));
  }
}
