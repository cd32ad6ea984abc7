#include "rrduino_sha256.h"

#include <string.h>

#if defined(__AVR__)
#include <avr/pgmspace.h>
#define RRDUINO_ROUND_CONSTANT(i) pgm_read_dword(&ROUND_CONSTANTS[i])
#define RRDUINO_COPY_FROM_FLASH memcpy_P
#else
#define PROGMEM
#define RRDUINO_ROUND_CONSTANT(i) (ROUND_CONSTANTS[i])
#define RRDUINO_COPY_FROM_FLASH memcpy
#endif

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes
// (FIPS 180-4, 4.2.2). In flash: 256 bytes of RAM is an eighth of an Uno's.
static const uint32_t ROUND_CONSTANTS[64] PROGMEM = {
  0x428a2f98UL, 0x71374491UL, 0xb5c0fbcfUL, 0xe9b5dba5UL,
  0x3956c25bUL, 0x59f111f1UL, 0x923f82a4UL, 0xab1c5ed5UL,
  0xd807aa98UL, 0x12835b01UL, 0x243185beUL, 0x550c7dc3UL,
  0x72be5d74UL, 0x80deb1feUL, 0x9bdc06a7UL, 0xc19bf174UL,
  0xe49b69c1UL, 0xefbe4786UL, 0x0fc19dc6UL, 0x240ca1ccUL,
  0x2de92c6fUL, 0x4a7484aaUL, 0x5cb0a9dcUL, 0x76f988daUL,
  0x983e5152UL, 0xa831c66dUL, 0xb00327c8UL, 0xbf597fc7UL,
  0xc6e00bf3UL, 0xd5a79147UL, 0x06ca6351UL, 0x14292967UL,
  0x27b70a85UL, 0x2e1b2138UL, 0x4d2c6dfcUL, 0x53380d13UL,
  0x650a7354UL, 0x766a0abbUL, 0x81c2c92eUL, 0x92722c85UL,
  0xa2bfe8a1UL, 0xa81a664bUL, 0xc24b8b70UL, 0xc76c51a3UL,
  0xd192e819UL, 0xd6990624UL, 0xf40e3585UL, 0x106aa070UL,
  0x19a4c116UL, 0x1e376c08UL, 0x2748774cUL, 0x34b0bcb5UL,
  0x391c0cb3UL, 0x4ed8aa4aUL, 0x5b9cca4fUL, 0x682e6ff3UL,
  0x748f82eeUL, 0x78a5636fUL, 0x84c87814UL, 0x8cc70208UL,
  0x90befffaUL, 0xa4506cebUL, 0xbef9a3f7UL, 0xc67178f2UL,
};

static inline uint32_t rotr(uint32_t x, uint8_t n) { return (x >> n) | (x << (32 - n)); }

static uint32_t loadBigEndian(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void storeBigEndian(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// One 64-byte block into the state. The message schedule is kept as a ring of 16
// words computed as the rounds need them, not the textbook 64 (192 bytes of stack saved).
static void compress(uint32_t state[8], const uint8_t block[RRDUINO_SHA256_BLOCK]) {
  uint32_t w[16];
  for (uint8_t i = 0; i < 16; i++) w[i] = loadBigEndian(block + 4 * i);
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (uint8_t i = 0; i < 64; i++) {
    uint32_t wi;
    if (i < 16) {
      wi = w[i];
    } else {
      uint32_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
      uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      wi = w[i & 15] + s0 + w[(i + 9) & 15] + s1;
      w[i & 15] = wi;
    }
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + RRDUINO_ROUND_CONSTANT(i) + wi;
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

void rrduinoSha256Init(RRDuinoSha256 &ctx) {
  // The first 32 bits of the fractional parts of the square roots of the first 8 primes.
  static const uint32_t initial[8] PROGMEM = {
      0x6a09e667UL,
      0xbb67ae85UL,
      0x3c6ef372UL,
      0xa54ff53aUL,
      0x510e527fUL,
      0x9b05688cUL,
      0x1f83d9abUL,
      0x5be0cd19UL,
  };
  RRDUINO_COPY_FROM_FLASH(ctx.state, initial, sizeof ctx.state);
  ctx.length = 0;
  ctx.used = 0;
}

void rrduinoSha256Update(RRDuinoSha256 &ctx, const uint8_t *data, size_t len) {
  ctx.length += (uint32_t)len;
  while (len > 0) {
    uint8_t take = RRDUINO_SHA256_BLOCK - ctx.used;
    if (len < take) take = (uint8_t)len;
    memcpy(ctx.block + ctx.used, data, take);
    ctx.used += take;
    data += take;
    len -= take;
    if (ctx.used == RRDUINO_SHA256_BLOCK) {
      compress(ctx.state, ctx.block);
      ctx.used = 0;
    }
  }
}

void rrduinoSha256Final(RRDuinoSha256 &ctx, uint8_t out[RRDUINO_SHA256_BYTES]) {
  uint32_t bits = ctx.length << 3;
  uint32_t bitsHigh = ctx.length >> 29;
  ctx.block[ctx.used++] = 0x80;
  if (ctx.used > RRDUINO_SHA256_BLOCK - 8) {
    memset(ctx.block + ctx.used, 0, RRDUINO_SHA256_BLOCK - ctx.used);
    compress(ctx.state, ctx.block);
    ctx.used = 0;
  }
  memset(ctx.block + ctx.used, 0, RRDUINO_SHA256_BLOCK - 8 - ctx.used);
  storeBigEndian(ctx.block + 56, bitsHigh);
  storeBigEndian(ctx.block + 60, bits);
  compress(ctx.state, ctx.block);
  for (uint8_t i = 0; i < 8; i++) storeBigEndian(out + 4 * i, ctx.state[i]);
}

// The key block XORed with ipad (0x36) or opad (0x5c), fed one byte at a time so no
// 64-byte padded copy of the key is kept.
static void feedPaddedKey(RRDuinoHmac &ctx, uint8_t pad) {
  for (uint8_t i = 0; i < RRDUINO_SHA256_BLOCK; i++) {
    uint8_t b = (uint8_t)((i < ctx.keyLength ? ctx.key[i] : 0) ^ pad);
    rrduinoSha256Update(ctx.sha, &b, 1);
  }
}

void rrduinoHmacInit(RRDuinoHmac &ctx, const uint8_t *key, uint8_t keyLength) {
  ctx.key = key;
  ctx.keyLength = keyLength > RRDUINO_SHA256_BLOCK ? RRDUINO_SHA256_BLOCK : keyLength;
  rrduinoSha256Init(ctx.sha);
  feedPaddedKey(ctx, 0x36);
}

void rrduinoHmacUpdate(RRDuinoHmac &ctx, const uint8_t *data, size_t len) { rrduinoSha256Update(ctx.sha, data, len); }

void rrduinoHmacFinal(RRDuinoHmac &ctx, uint8_t out[RRDUINO_SHA256_BYTES]) {
  uint8_t inner[RRDUINO_SHA256_BYTES];
  rrduinoSha256Final(ctx.sha, inner);
  rrduinoSha256Init(ctx.sha);
  feedPaddedKey(ctx, 0x5c);
  rrduinoSha256Update(ctx.sha, inner, sizeof inner);
  rrduinoSha256Final(ctx.sha, out);
}
