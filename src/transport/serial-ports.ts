import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SerialPort } from 'serialport';

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  /** A stable name to use instead of path (/dev/serial/by-id/…), when udev made one. */
  byId?: string;
}

/** Where to look; tests point these at a directory tree of their own. */
export interface PortSources {
  /** Default `/dev`. */
  devRoot?: string;
  /** Default `/sys`. */
  sysRoot?: string;
  /** serialport's udev-based listing. */
  list?: () => Promise<Array<{ path: string; manufacturer?: string; serialNumber?: string }>>;
}

/**
 * Serial ports on this machine. serialport's list() needs udevadm and rejects
 * without it (a rejection Node would die of), so fall back to /sys/class/tty;
 * /dev/serial/by-id gives each a stable name.
 */
export async function listSerialPorts(sources: PortSources = {}): Promise<PortInfo[]> {
  const devRoot = sources.devRoot ?? '/dev';
  const byId = await byIdLinks(devRoot);
  let ports: PortInfo[];
  try {
    const list = sources.list ?? (() => SerialPort.list());
    ports = (await list()).map((p) => ({ path: p.path, manufacturer: p.manufacturer, serialNumber: p.serialNumber }));
  } catch {
    ports = await fromSysfs(sources.sysRoot ?? '/sys', devRoot);
  }
  return ports.map((p) => ({ ...p, byId: byId.get(p.path) })).sort((a, b) => a.path.localeCompare(b.path));
}

async function byIdLinks(devRoot: string): Promise<Map<string, string>> {
  const dir = join(devRoot, 'serial/by-id');
  const out = new Map<string, string>();
  try {
    for (const name of await readdir(dir)) out.set(await realpath(join(dir, name)), join(dir, name));
  } catch {
    // no udev, or no USB serial devices
  }
  return out;
}

/** USB and ACM serial devices from sysfs: those with a device link (real hardware). */
async function fromSysfs(sysRoot: string, devRoot: string): Promise<PortInfo[]> {
  const ports: PortInfo[] = [];
  const ttys = join(sysRoot, 'class/tty');
  let names: string[] = [];
  try {
    names = await readdir(ttys);
  } catch {
    return ports;
  }
  for (const name of names) {
    if (!/^tty(USB|ACM|AMA|S)\d+$/.test(name)) continue;
    const dev = join(ttys, name, 'device');
    try {
      await readlink(dev);
    } catch {
      continue; // virtual tty with no device behind it
    }
    const usb = await findUsbAttrs(dev);
    if (/^ttyS\d+$/.test(name) && !usb.manufacturer) continue; // legacy UARTs, mostly absent
    ports.push({ path: join(devRoot, name), ...usb });
  }
  return ports;
}

async function findUsbAttrs(deviceLink: string): Promise<{ manufacturer?: string; serialNumber?: string }> {
  // The USB device's attributes sit one or two levels above the tty's interface.
  let dir = await realpath(deviceLink).catch(() => '');
  for (let i = 0; i < 4 && dir && basename(dir) !== 'devices'; i++) {
    const manufacturer = await readFile(join(dir, 'manufacturer'), 'utf8').catch(() => undefined);
    if (manufacturer !== undefined) {
      const serialNumber = await readFile(join(dir, 'serial'), 'utf8').catch(() => undefined);
      return { manufacturer: manufacturer.trim(), serialNumber: serialNumber?.trim() };
    }
    dir = join(dir, '..');
  }
  return {};
}
