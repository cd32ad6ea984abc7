// Reports the temperature of a 10 kOhm NTC thermistor on A0 to an rrduino gateway over
// USB-serial: `node dist/server.js serve --serial /dev/ttyACM0`. The serial line carries
// the protocol, so this sketch prints nothing else to it.
#include <RRDuino.h>
#include <RRDuinoThermistor.h>

#include "config.h"

RRDuino rrduino(Serial, CLIENT_ID, CLIENT_KEY);
unsigned long lastReading = 0;
bool firstReading = true;

void setup() {
  Serial.begin(SERIAL_BAUD);
  rrduino.setRehelloInterval(REHELLO_MS);
}

void loop() {
  if (!firstReading && millis() - lastReading < INTERVAL_MS) return;
  firstReading = false;
  lastReading = millis();
  int adc = analogRead(A0);
  rrduino.add("temperature", rrduinoThermistorCelsius(adc));
  rrduino.add("adc", adc);  // the raw count, for checking the wiring
  rrduino.send();
}
