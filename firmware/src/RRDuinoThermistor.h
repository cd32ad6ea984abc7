// A 10 kOhm NTC thermistor (B = 3950) from an analog pin to GND, with a 10 kOhm resistor
// from 5 V to the same pin: the usual rrduino wiring, and the model firmware-sim simulates.
#ifndef RRDUINO_THERMISTOR_H
#define RRDUINO_THERMISTOR_H

#include <math.h>

// Degrees Celsius from a 10-bit analogRead count, by the B-parameter equation. NAN for a
// thermistor that is open (1023) or shorted (0): it prints as `nan`, which the gateway
// stores as unknown. Written in floats, the AVR's only width, so host builds agree.
inline float rrduinoThermistorCelsius(int adc) {
  if (adc <= 0 || adc >= 1023) return NAN;
  float ohms = 10000.0f * adc / (1023 - adc);
  float inverseKelvin = 1.0f / 298.15f + logf(ohms / 10000.0f) / 3950.0f;
  return 1.0f / inverseKelvin - 273.15f;
}

#endif
