// Prints floats the way the AVR core's Print does, for firmware-sim's float printing to be
// checked against (test/firmware-sim/arduino-float.test.ts). Each line is
// `<float bits, hex> <decimals> <Serial.print(value, decimals)>`, then `end`.
#include <RRDuinoThermistor.h>

#include "config.h"

static uint32_t state = 2463534242UL;

static uint32_t xorshift() {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static void show(float value, int decimals) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  Serial.print(bits, HEX);
  Serial.print(' ');
  Serial.print(decimals);
  Serial.print(' ');
  Serial.println(value, decimals);
}

void setup() {
  Serial.begin(115200);
  for (int i = 0; i < COUNT; i++) {
    uint32_t r = xorshift();
    float value;
    switch (i % 4) {
      case 0: value = rrduinoThermistorCelsius(1 + (int)(r % 1022)); break;  // what the examples send
      case 1: value = (int32_t)r / 65536.0f; break;                          // within +-32768
      case 2: value = (int32_t)r / 16777216.0f; break;                       // within +-128, fine fractions
      default: memcpy(&value, &r, sizeof value); break;                      // any bits: tiny, huge, nan, inf
    }
    show(value, i % 5);
  }
  Serial.println("end");
}

void loop() {}
