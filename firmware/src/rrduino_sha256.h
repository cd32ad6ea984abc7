// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small enough for an ATmega328P:
// one 64-byte block buffer, a 16-word rolling message schedule, round constants in flash.
#ifndef RRDUINO_SHA256_H
#define RRDUINO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define RRDUINO_SHA256_BYTES 32
#define RRDUINO_SHA256_BLOCK 64

struct RRDuinoSha256 {
  uint32_t state[8];
  uint8_t block[RRDUINO_SHA256_BLOCK];
  uint32_t length;  // bytes hashed so far; a board never hashes 512 MB
  uint8_t used;     // bytes waiting in block
};

void rrduinoSha256Init(RRDuinoSha256 &ctx);
void rrduinoSha256Update(RRDuinoSha256 &ctx, const uint8_t *data, size_t len);
void rrduinoSha256Final(RRDuinoSha256 &ctx, uint8_t out[RRDUINO_SHA256_BYTES]);

// HMAC with a key of at most one block (every key here is 32 bytes). The key is read
// again at the end, so it must stay unchanged until rrduinoHmacFinal returns; `out`
// may be the key or the message buffer.
struct RRDuinoHmac {
  RRDuinoSha256 sha;
  const uint8_t *key;
  uint8_t keyLength;
};

void rrduinoHmacInit(RRDuinoHmac &ctx, const uint8_t *key, uint8_t keyLength);
void rrduinoHmacUpdate(RRDuinoHmac &ctx, const uint8_t *data, size_t len);
void rrduinoHmacFinal(RRDuinoHmac &ctx, uint8_t out[RRDUINO_SHA256_BYTES]);

#endif
