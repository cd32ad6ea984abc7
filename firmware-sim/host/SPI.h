// Host stand-in: the sketch includes SPI.h for the Ethernet shield; nothing to do on a host.
