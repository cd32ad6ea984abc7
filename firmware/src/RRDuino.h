// RRDuino: signed sensor readings to an rrduino gateway.
//
//   RRDuino rrduino(Serial, CLIENT_ID, CLIENT_KEY);                        // USB-serial
//   RRDuino rrduino(ethernetClient, GATEWAY_HOST, GATEWAY_PORT, CLIENT_ID, CLIENT_KEY);  // TCP
//   ...
//   rrduino.add("temperature", celsius);   // printed with 2 decimals, as Print does
//   rrduino.send();                        // says hello first when there is no session
//
// The protocol is the gateway's docs/protocol.md: `h <id>`, 32 bytes back, 128 rounds of
// HMAC-SHA256 to the session key, then `u k v ... <hmac>` lines, the key advancing after each.
#ifndef RRDUINO_H
#define RRDUINO_H

#include <Arduino.h>
#include <Client.h>
#include <Stream.h>

#include "rrduino_keys.h"

// Longest signed text (`u k1 v1 k2 v2 ...`); what does not fit is left out by add().
#ifndef RRDUINO_TEXT_MAX
#define RRDUINO_TEXT_MAX 80
#endif

class RRDuino : private Print {
 public:
  // A board on a serial line (USB): the gateway cannot hang up, so there is no failure to see.
  RRDuino(Stream &serial, const char *clientId, const char *preSharedKey);
  // A board on TCP through any Arduino Client (Ethernet shield, Wi-Fi).
  RRDuino(Client &client, const char *host, uint16_t port, const char *clientId, const char *preSharedKey);

  // How long to wait for the gateway's 32 bytes after the hello (default 10 s).
  void setHelloTimeout(unsigned long ms) { helloTimeoutMs_ = ms; }
  // Say hello again after this long even when nothing failed (default 0: never). Serial boards
  // whose port opening does not reset them (no DTR) need it to find a restarted gateway.
  void setRehelloInterval(unsigned long ms) { rehelloMs_ = ms; }

  // Connects (TCP) and says hello when there is no session. True when a session is ready.
  bool begin();
  // Appends a value to the next update. False (and nothing added) when it would not fit.
  // A float or double prints as Print prints it (2 decimals by default); an integer plainly.
  // One overload per type, so `add("t", 21.5)` and `add("adc", analogRead(A0))` both resolve.
  bool add(const char *key, double value, uint8_t decimals = 2);
  bool add(const char *key, long value);
  bool add(const char *key, int value) { return add(key, static_cast<long>(value)); }
  bool add(const char *key, unsigned long value);
  // Signs and sends the values added since the last send. On a failure the session is
  // dropped and a new one is tried at once; false when that fails too.
  bool send();
  // Forgets the values added since the last send.
  void clear();

  bool hasSession() const { return session_; }
  // Handshakes so far: more than one means the board reconnected.
  unsigned long handshakes() const { return handshakes_; }

 private:
  size_t write(uint8_t b) override;
  using Print::write;
  bool hello();
  bool readKeyMaterial(uint8_t material[RRDUINO_KEY_BYTES]);
  bool sendLine();
  void drop();
  bool linkUp();
  bool appendPair(const char *key);
  bool kept();

  Stream &io_;
  Client *client_;
  const char *host_;
  uint16_t port_;
  const char *clientId_;
  uint8_t master_[RRDUINO_KEY_BYTES];
  uint8_t key_[RRDUINO_KEY_BYTES];
  // The signed text, then " <hmac>\r\n": one write, one TCP segment.
  char line_[RRDUINO_TEXT_MAX + 1 + RRDUINO_HMAC_HEX + 2];
  uint8_t length_;
  uint8_t mark_;  // length before the pair being added, to undo one that does not fit
  bool overflow_;
  bool session_;
  unsigned long helloTimeoutMs_;
  unsigned long rehelloMs_;
  unsigned long sessionStart_;
  unsigned long handshakes_;
};

#endif
