// The host side of the stand-in core: time, the ADC, Serial, a POSIX-socket EthernetClient,
// and main() calling setup() then loop() as the Arduino core does.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "Arduino.h"
#include "Ethernet.h"

HostSerial Serial;
EthernetClass Ethernet;

static unsigned long long nowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (unsigned long long)t.tv_sec * 1000ULL + (unsigned long long)t.tv_nsec / 1000000ULL;
}
static const unsigned long long startMs = nowMs();

unsigned long millis() { return (unsigned long)(nowMs() - startMs); }

void delay(unsigned long ms) {
  struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&t, nullptr);
}

int analogRead(uint8_t) {
  const char *adc = getenv("RRDUINO_ADC");
  return adc ? atoi(adc) : 512;
}

size_t HostSerial::write(uint8_t b) {
  putchar(b);
  if (b == '\n') fflush(stdout);
  return 1;
}

int EthernetClient::connect(IPAddress ip, uint16_t port) {
  char host[16];
  snprintf(host, sizeof host, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
  return connect(host, port);
}

int EthernetClient::connect(const char *host, uint16_t port) {
  stop();
  char service[8];
  snprintf(service, sizeof service, "%u", port);
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo *found = nullptr;
  if (getaddrinfo(host, service, &hints, &found) != 0) return 0;
  for (struct addrinfo *a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
    } else {
      close(fd);
    }
  }
  freeaddrinfo(found);
  if (fd_ < 0) return 0;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  closed_ = false;
  start_ = end_ = 0;
  return 1;
}

size_t EthernetClient::write(const uint8_t *data, size_t n) {
  if (fd_ < 0 || closed_) return 0;
  size_t done = 0;
  while (done < n) {
    ssize_t w = send(fd_, data + done, n - done, MSG_NOSIGNAL);
    if (w <= 0) {
      closed_ = true;
      return done;
    }
    done += (size_t)w;
  }
  return done;
}

// Reads what has arrived without blocking; notes a close (or reset) by the peer.
bool EthernetClient::fill() {
  if (fd_ < 0 || closed_) return start_ < end_;
  if (start_ == end_) start_ = end_ = 0;
  struct pollfd p = {fd_, POLLIN, 0};
  if (poll(&p, 1, 0) > 0 && end_ < sizeof buffer_) {
    ssize_t r = recv(fd_, buffer_ + end_, sizeof buffer_ - end_, 0);
    if (r > 0) end_ += (size_t)r;
    else closed_ = true;
  }
  return start_ < end_;
}

int EthernetClient::available() { return fill() ? (int)(end_ - start_) : 0; }
int EthernetClient::read() { return fill() ? buffer_[start_++] : -1; }
int EthernetClient::peek() { return fill() ? buffer_[start_] : -1; }

void EthernetClient::stop() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  closed_ = false;
  start_ = end_ = 0;
}

uint8_t EthernetClient::connected() {
  fill();
  return fd_ >= 0 && (!closed_ || start_ < end_);
}

int main() {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  setup();
  for (;;) {
    loop();
    delay(1);  // the real loop() spins; a host process need not burn a core
  }
}
