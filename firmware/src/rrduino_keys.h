// The rrduino key schedule (the gateway's docs/protocol.md, "Keys"): pure functions,
// no I/O, so the host build checks them against the known-answer vectors.
#ifndef RRDUINO_KEYS_H
#define RRDUINO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "rrduino_sha256.h"

#define RRDUINO_KEY_BYTES 32
#define RRDUINO_HMAC_HEX 64
#define RRDUINO_DERIVATION_ROUNDS 128

// M = SHA-256 of the pre-shared key's bytes.
void rrduinoMasterKey(const char *preSharedKey, uint8_t master[RRDUINO_KEY_BYTES]);

// key = HMAC-SHA256(master, key): the ratchet after every signed message.
void rrduinoAdvanceKey(const uint8_t master[RRDUINO_KEY_BYTES], uint8_t key[RRDUINO_KEY_BYTES]);

// The 32 bytes of the gateway's answer become the first session key: 128 advances
// (about 6 s on a 16 MHz ATmega328P).
void rrduinoSessionKey(const uint8_t master[RRDUINO_KEY_BYTES], uint8_t material[RRDUINO_KEY_BYTES]);

// The 64 lowercase hex characters of HMAC-SHA256(key, text); `hex` is not terminated.
void rrduinoSign(const uint8_t key[RRDUINO_KEY_BYTES], const char *text, size_t length, char hex[RRDUINO_HMAC_HEX]);

#endif
