// Stand-in for Arduino's Ethernet library (2.x) when building EthernetThermistor for the AVR
// here: Debian has no package of it and CI reaches no other source. Same API for what the
// sketch uses; no W5100 driver, so connect() always fails. It proves the sketch and the
// RRDuino library compile and link against the AVR core's Client; the real library adds its
// own size (BENCHMARKS.md has the build with Ethernet 2.0.2).
#ifndef RRDUINO_ETHERNET_STANDIN_H
#define RRDUINO_ETHERNET_STANDIN_H

#include <Arduino.h>
#include <Client.h>
#include <IPAddress.h>

class EthernetClass {
 public:
  int begin(uint8_t *mac, unsigned long timeout = 60000, unsigned long responseTimeout = 4000);
  void begin(uint8_t *mac, IPAddress ip);
  int maintain();
};
extern EthernetClass Ethernet;

class EthernetClient : public Client {
 public:
  int connect(IPAddress ip, uint16_t port) override;
  int connect(const char *host, uint16_t port) override;
  size_t write(uint8_t b) override;
  size_t write(const uint8_t *buf, size_t size) override;
  int available() override;
  int read() override;
  int read(uint8_t *buf, size_t size) override;
  int peek() override;
  void flush() override;
  void stop() override;
  uint8_t connected() override;
  operator bool() override;
};

#endif
