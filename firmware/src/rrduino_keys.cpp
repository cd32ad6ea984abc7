#include "rrduino_keys.h"

#include <string.h>

void rrduinoMasterKey(const char *preSharedKey, uint8_t master[RRDUINO_KEY_BYTES]) {
  RRDuinoSha256 sha;
  rrduinoSha256Init(sha);
  rrduinoSha256Update(sha, (const uint8_t *)preSharedKey, strlen(preSharedKey));
  rrduinoSha256Final(sha, master);
}

void rrduinoAdvanceKey(const uint8_t master[RRDUINO_KEY_BYTES], uint8_t key[RRDUINO_KEY_BYTES]) {
  RRDuinoHmac hmac;
  rrduinoHmacInit(hmac, master, RRDUINO_KEY_BYTES);
  rrduinoHmacUpdate(hmac, key, RRDUINO_KEY_BYTES);
  rrduinoHmacFinal(hmac, key);  // the message is all in before the key buffer is overwritten
}

void rrduinoSessionKey(const uint8_t master[RRDUINO_KEY_BYTES], uint8_t material[RRDUINO_KEY_BYTES]) {
  for (uint8_t i = 0; i < RRDUINO_DERIVATION_ROUNDS; i++) rrduinoAdvanceKey(master, material);
}

void rrduinoSign(const uint8_t key[RRDUINO_KEY_BYTES], const char *text, size_t length, char hex[RRDUINO_HMAC_HEX]) {
  static const char digits[] = "0123456789abcdef";
  RRDuinoHmac hmac;
  uint8_t mac[RRDUINO_SHA256_BYTES];
  rrduinoHmacInit(hmac, key, RRDUINO_KEY_BYTES);
  rrduinoHmacUpdate(hmac, (const uint8_t *)text, length);
  rrduinoHmacFinal(hmac, mac);
  for (uint8_t i = 0; i < RRDUINO_SHA256_BYTES; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 15];
  }
}
