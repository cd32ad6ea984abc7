import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { PassThrough } from 'node:stream';
import { parseSerialSpec, SerialLine, type OpenPort, type PortOpener } from '../../src/transport/serial-line.ts';
import { listSerialPorts } from '../../src/transport/serial-ports.ts';
import { memoryLogger, tempDir, waitFor } from '../helpers/fixtures.ts';

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
  it('rejects a relative path and a silly baud rate with a config error', () => {
    for (const spec of ['ttyUSB0', '/dev/ttyUSB0:7']) {
      expect(() => parseSerialSpec(spec)).toThrow(ConfigError);
      expect(() => parseSerialSpec(spec)).toThrow(/absolute device path/);
    }
  });
});

describe('listSerialPorts without udev', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
  afterEach(async () => cleanup());

  /** A sysfs tree as Linux makes it for one Arduino Uno (ttyACM0), one FTDI cable (ttyUSB0) and noise. */
  async function fakeMachine(): Promise<void> {
    const usb = (n: string) => join(root, 'sys/devices/pci0/usb1', n);
    for (const [tty, dev, manufacturer, serial] of [
      ['ttyACM0', '1-1', 'Arduino (www.arduino.cc)', '85735313932351D02191'],
      ['ttyUSB0', '1-2', 'FTDI', 'A50285BI'],
    ] as const) {
      await mkdir(join(usb(dev), `${dev}:1.0`), { recursive: true });
      await writeFile(join(usb(dev), 'manufacturer'), `${manufacturer}\n`);
      await writeFile(join(usb(dev), 'serial'), `${serial}\n`);
      await mkdir(join(root, 'sys/class/tty', tty), { recursive: true });
      await symlink(join(usb(dev), `${dev}:1.0`), join(root, 'sys/class/tty', tty, 'device'));
      await mkdir(join(root, 'dev'), { recursive: true });
      await writeFile(join(root, 'dev', tty), '');
    }
    await mkdir(join(root, 'sys/class/tty/tty0'), { recursive: true }); // virtual console: no device
    await mkdir(join(root, 'sys/devices/platform/serial8250/tty/ttyS0'), { recursive: true });
    await mkdir(join(root, 'sys/class/tty/ttyS0'), { recursive: true });
    await symlink(join(root, 'sys/devices/platform/serial8250'), join(root, 'sys/class/tty/ttyS0/device')); // legacy UART, no USB
    await mkdir(join(root, 'dev/serial/by-id'), { recursive: true });
    await symlink(join(root, 'dev/ttyACM0'), join(root, 'dev/serial/by-id/usb-Arduino__www.arduino.cc__0043_85735313932351D02191-if00'));
  }

  it('falls back to sysfs when udev is missing, with manufacturer, serial number and by-id name', async () => {
    await fakeMachine();
    const ports = await listSerialPorts({
      devRoot: join(root, 'dev'),
      sysRoot: join(root, 'sys'),
      list: () => Promise.reject(new Error('spawn udevadm ENOENT')),
    });
    expect(ports).toEqual([
      {
        path: join(root, 'dev/ttyACM0'),
        manufacturer: 'Arduino (www.arduino.cc)',
        serialNumber: '85735313932351D02191',
        byId: join(root, 'dev/serial/by-id/usb-Arduino__www.arduino.cc__0043_85735313932351D02191-if00'),
      },
      { path: join(root, 'dev/ttyUSB0'), manufacturer: 'FTDI', serialNumber: 'A50285BI', byId: undefined },
    ]);
  });

  it('answers an empty list on a machine with no serial ports at all', async () => {
    expect(await listSerialPorts({ devRoot: join(root, 'dev'), sysRoot: join(root, 'sys'), list: () => Promise.reject(new Error('no udev')) })).toEqual([]);
  });
});

describe('SerialLine open failures', () => {
  const retry = { minMs: 10, maxMs: 20 };
  const warnings = (logs: ReturnType<typeof memoryLogger>): Array<Record<string, unknown>> => logs.lines.filter((l) => l['code'] === 'E_SERIAL_OPEN');

  it('warns once, with the reason and the fix, for a device path that does not exist, however often it retries', async () => {
    const logs = memoryLogger('info');
    const line = new SerialLine({ path: '/dev/ttyNOPE-rrduino', logger: logs.logger, retry, maxLineLength: 1024 }, () => ({ onFrame: () => undefined, onLinkClosed: () => Promise.resolve() }));
    line.start();
    await new Promise((r) => setTimeout(r, 300));
    await line.stop();
    expect(warnings(logs)).toHaveLength(1);
    expect(warnings(logs)[0]?.['level']).toBe(40);
    expect(String(warnings(logs)[0]?.['msg'])).toMatch(/\/dev\/ttyNOPE-rrduino: no such device\. Check the path.*ports/);
  });

  it('warns again when the reason changes: missing, then no permission (dialout), then open', async () => {
    const logs = memoryLogger('info');
    const failures = [enoent(), enoent(), eacces(), eacces(), eacces()];
    const open: PortOpener = () => {
      const next = failures.shift();
      return next ? Promise.reject(next) : Promise.resolve(new PassThrough() as unknown as OpenPort);
    };
    const line = new SerialLine({ path: '/dev/ttyACM0', logger: logs.logger, retry, open, maxLineLength: 1024 }, () => ({ onFrame: () => undefined, onLinkClosed: () => Promise.resolve() }));
    line.start();
    await waitFor(() => logs.lines.some((l) => l['msg'] === 'serial port open'), 2000, 'the port to open');
    await line.stop();
    expect(warnings(logs).map((l) => l['reason'])).toEqual(['no such device', 'permission denied']);
    expect(String(warnings(logs)[1]?.['msg'])).toContain('dialout');
    expect(logs.lines.find((l) => l['msg'] === 'serial port open')?.['afterFailedAttempts']).toBe(5);
  });
});

function enoent(): Error {
  return Object.assign(new Error('Error: No such file or directory, cannot open /dev/ttyACM0'), { code: 'ENOENT' });
}
function eacces(): Error {
  return Object.assign(new Error('Error: Permission denied, cannot open /dev/ttyACM0'), { code: 'EACCES' });
}
