// Runs the firmware's SHA-256, HMAC and key schedule on the host for the known-answer
// tests. One command per input line, one hex answer per output line:
//   sha256 <data>             hmac <key> <data>          master <pre-shared key>
//   session <master> <material>   advance <master> <key>   sign <key> <text>
// Every argument is hex, so any bytes can be passed.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "rrduino_keys.h"

static std::vector<uint8_t> fromHex(const std::string &hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back((uint8_t)strtoul(hex.substr(i, 2).c_str(), nullptr, 16));
  return out;
}

static void printHex(const uint8_t *data, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", data[i]);
  printf("\n");
}

int main() {
  char buffer[1 << 16];
  while (fgets(buffer, sizeof buffer, stdin) != nullptr) {
    std::vector<std::string> args;
    for (char *t = strtok(buffer, " \r\n"); t != nullptr; t = strtok(nullptr, " \r\n")) args.push_back(t);
    if (args.empty()) continue;
    const std::string &cmd = args[0];
    std::vector<uint8_t> a = args.size() > 1 ? fromHex(args[1]) : std::vector<uint8_t>();
    std::vector<uint8_t> b = args.size() > 2 ? fromHex(args[2]) : std::vector<uint8_t>();
    uint8_t out[RRDUINO_SHA256_BYTES];
    if (cmd == "sha256") {
      RRDuinoSha256 sha;
      rrduinoSha256Init(sha);
      rrduinoSha256Update(sha, a.data(), a.size());
      rrduinoSha256Final(sha, out);
      printHex(out, sizeof out);
    } else if (cmd == "hmac") {
      RRDuinoHmac hmac;
      rrduinoHmacInit(hmac, a.data(), (uint8_t)a.size());
      rrduinoHmacUpdate(hmac, b.data(), b.size());
      rrduinoHmacFinal(hmac, out);
      printHex(out, sizeof out);
    } else if (cmd == "master") {
      std::string key(a.begin(), a.end());
      rrduinoMasterKey(key.c_str(), out);
      printHex(out, sizeof out);
    } else if (cmd == "session" && a.size() == 32 && b.size() == 32) {
      memcpy(out, b.data(), 32);
      rrduinoSessionKey(a.data(), out);
      printHex(out, sizeof out);
    } else if (cmd == "advance" && a.size() == 32 && b.size() == 32) {
      memcpy(out, b.data(), 32);
      rrduinoAdvanceKey(a.data(), out);
      printHex(out, sizeof out);
    } else if (cmd == "sign" && a.size() == 32) {
      char hex[RRDUINO_HMAC_HEX + 1] = {0};
      rrduinoSign(a.data(), reinterpret_cast<const char *>(b.data()), b.size(), hex);
      printf("%s\n", hex);
    } else {
      printf("error: bad command\n");
    }
    fflush(stdout);
  }
  return 0;
}
