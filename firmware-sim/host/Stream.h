// Host stand-in for the Arduino core's Stream.
#ifndef HOST_STREAM_H
#define HOST_STREAM_H

#include "Print.h"

class Stream : public Print {
 public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;
};

#endif
