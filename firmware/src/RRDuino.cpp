#include "RRDuino.h"

#include <string.h>

RRDuino::RRDuino(Stream &serial, const char *clientId, const char *preSharedKey)
    : io_(serial), client_(nullptr), host_(nullptr), port_(0), clientId_(clientId) {
  rrduinoMasterKey(preSharedKey, master_);
  length_ = 0;
  mark_ = 0;
  overflow_ = false;
  session_ = false;
  helloTimeoutMs_ = 10000;
  rehelloMs_ = 0;
  sessionStart_ = 0;
  handshakes_ = 0;
  clear();
}

RRDuino::RRDuino(Client &client, const char *host, uint16_t port, const char *clientId, const char *preSharedKey)
    : RRDuino(static_cast<Stream &>(client), clientId, preSharedKey) {
  client_ = &client;
  host_ = host;
  port_ = port;
}

void RRDuino::clear() {
  line_[0] = 'u';
  length_ = 1;
  overflow_ = false;
}

size_t RRDuino::write(uint8_t b) {
  if (length_ >= RRDUINO_TEXT_MAX) {
    overflow_ = true;
    return 0;
  }
  line_[length_++] = (char)b;
  return 1;
}

bool RRDuino::appendPair(const char *key) {
  mark_ = length_;
  overflow_ = false;
  print(' ');
  print(key);
  print(' ');
  return !overflow_;
}

bool RRDuino::add(const char *key, double value, uint8_t decimals) {
  if (appendPair(key)) print(value, decimals);
  return kept();
}

bool RRDuino::add(const char *key, long value) {
  if (appendPair(key)) print(value);
  return kept();
}

bool RRDuino::add(const char *key, unsigned long value) {
  if (appendPair(key)) print(value);
  return kept();
}

bool RRDuino::kept() {
  if (!overflow_) return true;
  length_ = mark_;  // the pair did not fit: take all of it back
  overflow_ = false;
  return false;
}

bool RRDuino::linkUp() {
  if (client_ == nullptr) return true;
  if (client_->connected()) return true;
  client_->stop();
  return client_->connect(host_, port_) == 1;
}

void RRDuino::drop() {
  session_ = false;
  memset(key_, 0, sizeof key_);
  if (client_ != nullptr) client_->stop();
}

bool RRDuino::readKeyMaterial(uint8_t material[RRDUINO_KEY_BYTES]) {
  uint8_t got = 0;
  unsigned long start = millis();
  while (got < RRDUINO_KEY_BYTES) {
    int c = io_.read();
    if (c >= 0) {
      material[got++] = (uint8_t)c;
      continue;
    }
    if (millis() - start >= helloTimeoutMs_) return false;
    if (client_ != nullptr && !client_->connected()) return false;
    delay(1);
  }
  return true;
}

bool RRDuino::hello() {
  drop();
  if (!linkUp()) return false;
  if (client_ == nullptr) {
    // A serial line may hold the rest of an old answer: drop it. Half a line the gateway holds
    // from before a reset joins this hello, which then goes unanswered and is said again after
    // the timeout, alone. No bare newline to end it: behind a serial-to-TCP bridge the original
    // rrduino server hangs up on an empty line.
    while (io_.read() >= 0) {
    }
  }
  io_.print("h ");
  io_.print(clientId_);
  io_.print("\r\n");
  if (!readKeyMaterial(key_)) {
    drop();
    return false;
  }
  rrduinoSessionKey(master_, key_);
  session_ = true;
  sessionStart_ = millis();
  handshakes_++;
  return true;
}

bool RRDuino::begin() {
  if (session_ && rehelloMs_ > 0 && millis() - sessionStart_ >= rehelloMs_) session_ = false;
  if (session_ && client_ != nullptr && !client_->connected()) session_ = false;
  return session_ || hello();
}

bool RRDuino::sendLine() {
  uint8_t n = length_;
  line_[n++] = ' ';
  rrduinoSign(key_, line_, length_, line_ + n);
  n += RRDUINO_HMAC_HEX;
  line_[n++] = '\r';
  line_[n++] = '\n';
  // The board advances right after it sends, whether or not the gateway accepted it.
  rrduinoAdvanceKey(master_, key_);
  size_t written = io_.write((const uint8_t *)line_, n);
  io_.flush();
  return written == n && (client_ == nullptr || client_->connected());
}

bool RRDuino::send() {
  bool sent = false;
  for (uint8_t attempt = 0; attempt < 2 && !sent; attempt++) {
    if (!begin()) continue;
    sent = sendLine();
    if (!sent) drop();
  }
  clear();
  return sent;
}
