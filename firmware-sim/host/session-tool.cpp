// Drives the firmware's RRDuino class on the host over a scripted transport and a fake clock,
// for test/firmware/rrduino-session.test.ts. One command per input line:
//   serial | tcp                 make the board (first command)
//   answer <hex>                 bytes the gateway sends after the board's next hello
//   add <key> <float> <decimals> / addint <key> <int>    -> "added 0|1"
//   send                         -> "sent 0|1 <hex of what the board wrote>"
//   drop                         the gateway closes the connection (TCP)
//   refuse <n>                   the next n connects fail (TCP)
//   wait <ms>                    advance the clock
//   stats                        -> "stats <connects> <handshakes> <clock ms>"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "RRDuino.h"

static unsigned long clockMs = 0;
unsigned long millis() { return clockMs; }
void delay(unsigned long ms) { clockMs += ms; }

static std::string toHex(const std::string &bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The gateway's side of the link: what it will answer, and what the board wrote.
class ScriptedLink : public Client {
 public:
  std::string incoming, written, answer;
  bool up = false;
  int refusals = 0;
  int connects = 0;

  int connect(IPAddress, uint16_t) override { return connect("", 0); }
  int connect(const char *, uint16_t) override {
    connects++;
    if (refusals > 0) {
      refusals--;
      return 0;
    }
    up = true;
    return 1;
  }
  size_t write(uint8_t b) override { return write(&b, 1); }
  size_t write(const uint8_t *data, size_t n) override {
    if (tcp && !up) return 0;
    written.append(reinterpret_cast<const char *>(data), n);
    // The gateway answers a hello once its line has ended.
    size_t start = written.rfind('\n', written.size() >= 2 ? written.size() - 2 : 0);
    start = start == std::string::npos ? 0 : start + 1;
    if (written.size() >= 2 && written.compare(written.size() - 2, 2, "\r\n") == 0 && written.compare(start, 2, "h ") == 0) {
      incoming += answer;
      answer.clear();
    }
    return n;
  }
  int available() override { return (int)incoming.size(); }
  int read() override {
    if (incoming.empty()) return -1;
    int c = (unsigned char)incoming[0];
    incoming.erase(0, 1);
    return c;
  }
  int peek() override { return incoming.empty() ? -1 : (unsigned char)incoming[0]; }
  void flush() override {}
  void stop() override { up = false; }
  uint8_t connected() override { return up; }
  operator bool() override { return up; }
  bool tcp = false;
};

static std::string fromHex(const char *hex) {
  std::string out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
    char pair[3] = {hex[i], hex[i + 1], 0};
    out += (char)strtoul(pair, nullptr, 16);
  }
  return out;
}

int main() {
  ScriptedLink link;
  RRDuino *board = nullptr;
  char line[4096];
  while (fgets(line, sizeof line, stdin) != nullptr) {
    char *cmd = strtok(line, " \r\n");
    if (cmd == nullptr) continue;
    char *a = strtok(nullptr, " \r\n");
    char *b = strtok(nullptr, " \r\n");
    char *c = strtok(nullptr, " \r\n");
    std::string what = cmd;
    if (what == "serial") {
      board = new RRDuino(static_cast<Stream &>(link), "board#1", "secret");
    } else if (what == "tcp") {
      link.tcp = true;
      board = new RRDuino(static_cast<Client &>(link), "127.0.0.1", 60405, "board#1", "secret");
    } else if (what == "answer") {
      link.answer += fromHex(a ? a : "");
    } else if (what == "add") {
      printf("added %d\n", board->add(a, atof(b), (uint8_t)atoi(c)) ? 1 : 0);
    } else if (what == "addint") {
      printf("added %d\n", board->add(a, atol(b)) ? 1 : 0);
    } else if (what == "send") {
      bool sent = board->send();
      printf("sent %d %s\n", sent ? 1 : 0, toHex(link.written).c_str());
      link.written.clear();
    } else if (what == "rehello") {
      board->setRehelloInterval(strtoul(a, nullptr, 10));
    } else if (what == "drop") {
      link.up = false;
    } else if (what == "refuse") {
      link.refusals = atoi(a);
    } else if (what == "wait") {
      clockMs += strtoul(a, nullptr, 10);
    } else if (what == "stats") {
      printf("stats %d %lu %lu\n", link.connects, board->handshakes(), clockMs);
    } else {
      printf("error: bad command %s\n", cmd);
    }
    fflush(stdout);
  }
  return 0;
}
