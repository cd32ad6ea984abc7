import { describe, expect, it } from 'vitest';
import { parseSerialSpec } from '../../src/transport/serial-line.ts';
import { listSerialPorts } from '../../src/transport/serial-ports.ts';

describe('parseSerialSpec', () => {
  it('defaults to 9600 baud like Serial.begin(9600)', () => {
    expect(parseSerialSpec('/dev/ttyUSB0')).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600 });
  });
  it('takes :baud', () => {
    expect(parseSerialSpec('/dev/serial/by-id/usb-Arduino_Uno_1234-if00:115200')).toEqual({
      path: '/dev/serial/by-id/usb-Arduino_Uno_1234-if00',
      baudRate: 115200,
    });
  });
  it('rejects a relative path and a silly baud rate', () => {
    expect(() => parseSerialSpec('ttyUSB0')).toThrow(RangeError);
    expect(() => parseSerialSpec('/dev/ttyUSB0:7')).toThrow(RangeError);
  });
});

describe('listSerialPorts', () => {
  it('answers without udev instead of rejecting (serialport.list() needs udevadm)', async () => {
    const ports = await listSerialPorts();
    expect(Array.isArray(ports)).toBe(true);
  });
});
