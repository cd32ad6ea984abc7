/**
 * Builds the board firmware in firmware/ without the Arduino IDE: for an ATmega328P with
 * avr-gcc against Debian's arduino-core-avr (the IDE's own flags, from its platform.txt),
 * and for the host with g++ against the stand-in core in firmware-sim/host/. Also builds the
 * simavr harness that runs an AVR build with its serial port on a pty.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs from firmware-sim/ (vitest) or dist/firmware-sim/ (node). */
export const REPO = basename(dirname(here)) === 'dist' ? join(here, '..', '..') : join(here, '..');
export const FIRMWARE_DIR = join(REPO, 'firmware');
export const HOST_CORE_DIR = join(REPO, 'firmware-sim', 'host');
export const AVR_DIR = join(REPO, 'firmware-sim', 'avr');
/** Where Debian's arduino-core-avr puts the core (REAL-PARTS: 1.8.7). */
export const ARDUINO_AVR = '/usr/share/arduino/hardware/arduino/avr';

/** Board: Arduino Uno. `ARDUINO=10807` is the core's version; avr-gcc 5.4 needs DECIMAL_DIG for WString.cpp. */
const AVR_DEFINES = ['-mmcu=atmega328p', '-DF_CPU=16000000L', '-DARDUINO=10807', '-DARDUINO_AVR_UNO', '-DARDUINO_ARCH_AVR', '-DDECIMAL_DIG=9'];
const AVR_C = ['-c', '-g', '-Os', '-Wall', '-std=gnu11', '-ffunction-sections', '-fdata-sections', '-flto', '-fno-fat-lto-objects', ...AVR_DEFINES];
const AVR_CPP = ['-c', '-g', '-Os', '-Wall', '-std=gnu++11', '-fpermissive', '-fno-exceptions', '-ffunction-sections', '-fdata-sections', '-fno-threadsafe-statics', '-Wno-error=narrowing', '-flto', ...AVR_DEFINES];
const AVR_S = ['-c', '-g', '-x', 'assembler-with-cpp', '-flto', ...AVR_DEFINES];
const AVR_LINK = ['-Os', '-g', '-flto', '-fuse-linker-plugin', '-Wl,--gc-sections', '-mmcu=atmega328p'];
const AVR_CORE_INCLUDES = [`-I${ARDUINO_AVR}/cores/arduino`, `-I${ARDUINO_AVR}/variants/standard`];

/** Flash and static RAM of an AVR image, as the IDE reports them. */
export interface AvrImage {
  readonly elf: string;
  /** .text + .data: what is written to flash (of 32,256 bytes usable on an Uno). */
  readonly flashBytes: number;
  /** .data + .bss: RAM taken before the stack and heap (of 2,048). */
  readonly ramBytes: number;
}

/** A sketch to build: an example of firmware/ (or any sketch dir) with its config.h replaced. */
export interface SketchBuild {
  /** Directory holding `<name>.ino`. */
  readonly sketchDir: string;
  /** Contents of config.h for this build; the sketch's own when undefined. */
  readonly configH?: string;
  readonly outDir: string;
  /** More include directories and sources (library stand-ins). */
  readonly includeDirs?: readonly string[];
  readonly sources?: readonly string[];
}

/** The library's sources. */
export async function librarySources(): Promise<string[]> {
  const dir = join(FIRMWARE_DIR, 'src');
  return (await readdir(dir)).filter((f) => f.endsWith('.cpp')).sort().map((f) => join(dir, f));
}

/**
 * Copies the sketch next to its config.h in `outDir/sketch`, as the IDE does: a sketch
 * includes "config.h" by quotes, which finds the file beside the sketch first.
 */
async function stageSketch(b: SketchBuild): Promise<{ ino: string; dir: string }> {
  const name = basename(b.sketchDir);
  const dir = join(b.outDir, 'sketch');
  await mkdir(dir, { recursive: true });
  const ino = join(dir, `${name}.ino`);
  await copyFile(join(b.sketchDir, `${name}.ino`), ino);
  const config = b.configH ?? (await readFile(join(b.sketchDir, 'config.h'), 'utf8').catch(() => ''));
  await writeFile(join(dir, 'config.h'), config);
  return { ino, dir };
}

/** Compiles the Arduino core once per machine into a cache shared by every build. */
let coreArchive: Promise<string> | undefined;
export function avrCore(): Promise<string> {
  coreArchive ??= buildAvrCore();
  return coreArchive;
}

async function buildAvrCore(): Promise<string> {
  const coreDir = join(ARDUINO_AVR, 'cores', 'arduino');
  const files = (await readdir(coreDir)).filter((f) => /\.(c|cpp|S)$/.test(f)).sort();
  const hash = createHash('sha256').update(JSON.stringify([AVR_C, AVR_CPP, AVR_S, files])).digest('hex').slice(0, 12);
  const cacheRoot = join(REPO, 'node_modules', '.cache', 'rrduino-avr-core');
  const final = join(cacheRoot, hash);
  const archive = join(final, 'core.a');
  if (await exists(archive)) return archive;
  // Built beside, then renamed: two test files building at once cannot see half a core.
  const work = `${final}.${process.pid}.${Date.now()}`;
  await mkdir(work, { recursive: true });
  const objects = await inParallel(files, async (f) => {
    const out = join(work, `${f}.o`);
    const flags = f.endsWith('.c') ? AVR_C : f.endsWith('.S') ? AVR_S : AVR_CPP;
    await run(f.endsWith('.cpp') ? 'avr-g++' : 'avr-gcc', [...flags, ...AVR_CORE_INCLUDES, join(coreDir, f), '-o', out]);
    return out;
  });
  await run('avr-gcc-ar', ['rcs', join(work, 'core.a'), ...objects]);
  try {
    await rename(work, final);
  } catch {
    await rm(work, { recursive: true, force: true }); // another build got there first
  }
  return archive;
}

/** Builds a sketch with the RRDuino library for an Arduino Uno. */
export async function buildAvrSketch(b: SketchBuild): Promise<AvrImage> {
  const core = await avrCore();
  const { ino, dir } = await stageSketch(b);
  const includes = [`-I${dir}`, `-I${join(FIRMWARE_DIR, 'src')}`, ...AVR_CORE_INCLUDES, ...(b.includeDirs ?? []).map((d) => `-I${d}`)];
  const sources = [...(await librarySources()), ...(b.sources ?? [])];
  const objDir = join(b.outDir, 'obj');
  await mkdir(objDir, { recursive: true });
  const objects = await inParallel([ino, ...sources], async (src, i) => {
    const out = join(objDir, `${i}-${basename(src)}.o`);
    const lang = src.endsWith('.ino') ? ['-x', 'c++', '-include', 'Arduino.h'] : [];
    await run(src.endsWith('.c') ? 'avr-gcc' : 'avr-g++', [...(src.endsWith('.c') ? AVR_C : AVR_CPP), ...includes, ...lang, src, '-o', out]);
    return out;
  });
  const elf = join(b.outDir, `${basename(b.sketchDir)}.elf`);
  await run('avr-gcc', [...AVR_LINK, '-o', elf, ...objects, core, '-lm']);
  return { elf, ...(await avrSize(elf)) };
}

/** Section sizes from `avr-size -A`. */
export async function avrSize(elf: string): Promise<{ flashBytes: number; ramBytes: number }> {
  const { stdout } = await run('avr-size', ['-A', elf]);
  const size = (name: string): number => Number(new RegExp(`^\\${name}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? 0);
  return { flashBytes: size('.text') + size('.data'), ramBytes: size('.data') + size('.bss') };
}

/** Builds a sketch for the host against firmware-sim/host (Ethernet is a POSIX socket there). */
export async function buildHostSketch(b: SketchBuild): Promise<string> {
  const { ino, dir } = await stageSketch(b);
  const exe = join(b.outDir, basename(b.sketchDir));
  await run('g++', [
    '-std=gnu++11', '-O2', '-Wall', '-Wextra', '-Werror',
    `-I${dir}`, `-I${HOST_CORE_DIR}`, `-I${join(FIRMWARE_DIR, 'src')}`,
    '-x', 'c++', '-include', 'Arduino.h', ino, '-x', 'none',
    ...(await librarySources()), join(HOST_CORE_DIR, 'host-runtime.cpp'), '-o', exe,
  ]);
  return exe;
}

/**
 * A host tool of firmware-sim/host/ (`kat-tool`: the firmware's SHA-256, HMAC and key schedule;
 * `session-tool`: its RRDuino class over a scripted link) built with the library's sources.
 */
export async function buildHostTool(name: 'kat-tool' | 'session-tool', outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const exe = join(outDir, name);
  await run('g++', [
    '-std=gnu++11', '-O2', '-Wall', '-Wextra', '-Werror', `-I${HOST_CORE_DIR}`, `-I${join(FIRMWARE_DIR, 'src')}`,
    join(HOST_CORE_DIR, `${name}.cpp`),
    // The key schedule alone needs no Arduino core; the session tool brings its own clock.
    ...(name === 'kat-tool' ? ['rrduino_sha256.cpp', 'rrduino_keys.cpp'].map((f) => join(FIRMWARE_DIR, 'src', f)) : await librarySources()),
    '-o', exe,
  ]);
  return exe;
}

/** The simavr harness (firmware-sim/avr/harness.c). Debian ships libelf.so.1 without its -dev link. */
export async function buildHarness(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const exe = join(outDir, 'simavr-harness');
  const libelf = (await exists('/usr/lib/x86_64-linux-gnu/libelf.so')) ? '-lelf' : '/usr/lib/x86_64-linux-gnu/libelf.so.1';
  await run('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-I/usr/include/simavr', join(AVR_DIR, 'harness.c'), '-o', exe, '-lsimavrparts', '-lsimavr', libelf, '-lpthread', '-lutil']);
  return exe;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Runs `f` over `items`, two at a time (the machines have two cores). */
async function inParallel<T, R>(items: readonly T[], f: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T, i);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}
