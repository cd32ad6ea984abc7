// Reports the temperature of a 10 kOhm NTC thermistor on A0 to an rrduino gateway over an
// Ethernet shield (W5100/W5500, Arduino's Ethernet library). Progress goes to Serial at 9600.
#include <SPI.h>
#include <Ethernet.h>
#include <RRDuino.h>
#include <RRDuinoThermistor.h>

#include "config.h"

byte mac[] = BOARD_MAC;
EthernetClient net;
RRDuino rrduino(net, GATEWAY_HOST, GATEWAY_PORT, CLIENT_ID, CLIENT_KEY);
unsigned long lastReading = 0;
bool firstReading = true;

void setup() {
  Serial.begin(9600);
  if (Ethernet.begin(mac) == 0) {
    Serial.println(F("no DHCP answer; using BOARD_IP"));
    Ethernet.begin(mac, IPAddress(BOARD_IP));
  }
}

void loop() {
  Ethernet.maintain();
  if (!firstReading && millis() - lastReading < INTERVAL_MS) return;
  firstReading = false;
  lastReading = millis();
  int adc = analogRead(A0);
  float celsius = rrduinoThermistorCelsius(adc);
  rrduino.add("temperature", celsius);
  rrduino.add("adc", adc);
  unsigned long handshakes = rrduino.handshakes();
  bool sent = rrduino.send();
  if (rrduino.handshakes() != handshakes) Serial.println(F("hello: session key derived"));
  Serial.print(sent ? F("sent ") : F("not sent, gateway unreachable; retrying next time: "));
  Serial.println(celsius, 2);
}
