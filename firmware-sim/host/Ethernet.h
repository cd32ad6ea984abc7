// Host stand-in for Arduino's Ethernet library: EthernetClient is a POSIX TCP socket, so an
// Ethernet sketch runs as a host process against a real gateway.
#ifndef HOST_ETHERNET_H
#define HOST_ETHERNET_H

#include "Arduino.h"

class EthernetClass {
 public:
  int begin(uint8_t *) { return 1; }
  void begin(uint8_t *, IPAddress) {}
  int maintain() { return 0; }
};
extern EthernetClass Ethernet;

class EthernetClient : public Client {
 public:
  int connect(IPAddress ip, uint16_t port) override;
  int connect(const char *host, uint16_t port) override;
  size_t write(uint8_t b) override { return write(&b, 1); }
  size_t write(const uint8_t *data, size_t n) override;
  int available() override;
  int read() override;
  int peek() override;
  void flush() override {}
  void stop() override;
  uint8_t connected() override;
  operator bool() override { return fd_ >= 0; }

 private:
  bool fill();
  int fd_ = -1;
  bool closed_ = false;  // the peer closed; what it sent before is still readable
  uint8_t buffer_[256];
  size_t start_ = 0, end_ = 0;
};

#endif
