#include "Ethernet.h"

EthernetClass Ethernet;

int EthernetClass::begin(uint8_t *, unsigned long, unsigned long) { return 0; }
void EthernetClass::begin(uint8_t *, IPAddress) {}
int EthernetClass::maintain() { return 0; }

int EthernetClient::connect(IPAddress, uint16_t) { return 0; }
int EthernetClient::connect(const char *, uint16_t) { return 0; }
size_t EthernetClient::write(uint8_t) { return 0; }
size_t EthernetClient::write(const uint8_t *, size_t) { return 0; }
int EthernetClient::available() { return 0; }
int EthernetClient::read() { return -1; }
int EthernetClient::read(uint8_t *, size_t) { return -1; }
int EthernetClient::peek() { return -1; }
void EthernetClient::flush() {}
void EthernetClient::stop() {}
uint8_t EthernetClient::connected() { return 0; }
EthernetClient::operator bool() { return false; }
