// Host stand-in for the Arduino core: enough to build the RRDuino library and its example
// sketches with g++ and run them as a process. analogRead(A0) returns RRDUINO_ADC from the
// environment; Serial writes to standard output.
#ifndef HOST_ARDUINO_H
#define HOST_ARDUINO_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "Client.h"
#include "Print.h"
#include "Stream.h"

typedef uint8_t byte;
#define A0 14

unsigned long millis();
void delay(unsigned long ms);
int analogRead(uint8_t pin);

class HostSerial : public Stream {
 public:
  void begin(unsigned long) {}
  size_t write(uint8_t b) override;
  using Print::write;
  int available() override { return 0; }
  int read() override { return -1; }
  int peek() override { return -1; }
};
extern HostSerial Serial;

void setup();
void loop();

#endif
