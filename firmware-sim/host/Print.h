// Host stand-in for the Arduino core's Print, enough for the RRDuino library and its
// examples. Floats print as the AVR core prints them: 32-bit, rounded by adding
// 0.5·10^-digits, then digit by digit (firmware-sim/arduino-float.ts is the same rule).
#ifndef HOST_PRINT_H
#define HOST_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

class __FlashStringHelper;
#define F(text) (reinterpret_cast<const __FlashStringHelper *>(text))

class Print {
 public:
  virtual ~Print() {}
  virtual size_t write(uint8_t b) = 0;
  virtual size_t write(const uint8_t *data, size_t n) {
    size_t done = 0;
    while (done < n && write(data[done]) == 1) done++;
    return done;
  }
  virtual void flush() {}
  size_t write(const char *s) { return write(reinterpret_cast<const uint8_t *>(s), strlen(s)); }
  size_t print(const __FlashStringHelper *s) { return print(reinterpret_cast<const char *>(s)); }
  size_t print(const char *s) { return write(s); }
  size_t print(char c) { return write(static_cast<uint8_t>(c)); }
  size_t print(int n) { return print(static_cast<long>(n)); }
  size_t print(unsigned int n) { return print(static_cast<unsigned long>(n)); }
  size_t print(long n) {
    if (n >= 0) return print(static_cast<unsigned long>(n));
    return print('-') + print(0UL - static_cast<unsigned long>(n));
  }
  size_t print(unsigned long n) {
    char digits[11];
    uint8_t i = 0;
    do {
      digits[i++] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n > 0);
    size_t written = 0;
    while (i > 0) written += print(digits[--i]);
    return written;
  }
  size_t print(double value, int decimals = 2) {
    float number = static_cast<float>(value);
    if (number != number) return print("nan");
    if (number > 3.4028235e38f || number < -3.4028235e38f) return print("inf");
    if (number > 4294967040.0f || number < -4294967040.0f) return print("ovf");
    size_t written = 0;
    if (number < 0.0f) {
      written += print('-');
      number = -number;
    }
    float rounding = 0.5f;
    for (int i = 0; i < decimals; i++) rounding /= 10.0f;
    number += rounding;
    unsigned long whole = static_cast<unsigned long>(number);
    float rest = number - static_cast<float>(whole);
    written += print(whole);
    if (decimals > 0) written += print('.');
    for (int i = 0; i < decimals; i++) {
      rest *= 10.0f;
      unsigned int digit = static_cast<unsigned int>(rest);
      written += print(static_cast<char>('0' + digit));
      rest -= static_cast<float>(digit);
    }
    return written;
  }
  template <typename T>
  size_t println(T value) {
    return print(value) + print("\r\n");
  }
  size_t println(double value, int decimals) { return print(value, decimals) + print("\r\n"); }
  size_t println() { return print("\r\n"); }
};

#endif
