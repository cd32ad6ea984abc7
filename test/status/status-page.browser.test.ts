import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusServer } from '../../src/status/status-server.ts';
import { GRAPH_COLOURS } from '../../src/status/graph-args.ts';
import { rrduinoProfile, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';

// The status page in a real browser: Debian's Chromium, headless, driven by puppeteer-core.

const READINGS = 60;
let h: Harness;
let server: StatusServer;
let base: string;
let browser: Browser;
let profileDir: string;

beforeAll(async () => {
  // Readings 20 s apart, ending now: twenty minutes of the last-hour graph.
  let clock = Date.now() - READINGS * 20_000;
  const profile = rrduinoProfile('secret123', ['temperature', 'humidity']) as { handler_options: { create: string[]; units?: Record<string, string> } };
  profile.handler_options.create = ['--step', '20', '--start', String(Math.floor(clock / 1000) - 60), 'DS:temperature:GAUGE:60:-50:110', 'DS:humidity:GAUGE:60:0:100', 'RRA:AVERAGE:0.5:1:1000'];
  profile.handler_options.units = { humidity: '% RH' };
  h = await startHarness({ shed: profile }, { now: () => (clock += 20_000) });
  server = new StatusServer({ backend: h.backend, destinations: () => [], logger: h.logs.logger, version: 'test' });
  const { port } = await server.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${port}`;
  const { c, board } = await helloBoard(h.port, 'shed', 'secret123');
  for (let i = 0; i < READINGS; i++) c.send(board.updateLine({ temperature: 18 + 4 * Math.sin(i / 8), humidity: 55 + i / 10 }));
  await waitFor(() => h.backend.stats.get('updates.stored') === READINGS, 10_000, 'every reading stored');
  profileDir = await mkdtemp(join(tmpdir(), 'rrduino-chromium-'));
  browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    userDataDir: profileDir,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
  await rm(profileDir, { recursive: true, force: true });
});

describe('status page in headless Chromium', { timeout: 60_000 }, () => {
  it('lists the board, connected, with its last values and units', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`, { waitUntil: 'load' });
    const row = await page.$eval('tbody tr', (tr) => (tr as HTMLElement).innerText);
    expect(row).toContain('shed');
    expect(row).toContain('connected (tcp)');
    expect(row).toMatch(/humidity\s*=\s*60\.9\s*% RH/);
    expect(row).toMatch(/temperature\s*=\s*[\d.]+\s*°C/);
    await page.close();
  });

  it("draws the board's graphs with rrdtool: real PNGs, with a line of the board's values", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/board/shed`, { waitUntil: 'networkidle0' });
    const images = await page.$$eval('.graphs img', (imgs) => imgs.map((i) => ({ src: (i).src, w: (i).naturalWidth, h: (i).naturalHeight })));
    expect(images.map((i) => i.src.replace(base, ''))).toEqual(['/graph/shed/hour.png', '/graph/shed/day.png', '/graph/shed/week.png', '/graph/shed/year.png']);
    for (const i of images) expect(i.w, i.src).toBeGreaterThan(400); // decoded by the browser: a real PNG
    // Pixels of each data source's line colour in the last-hour plot (the legend rows left out).
    const counts = await page.$eval('img[src$="hour.png"]', (img, colours) => {
      const i = img;
      const canvas = document.createElement('canvas');
      canvas.width = i.naturalWidth;
      canvas.height = i.naturalHeight;
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      ctx.drawImage(i, 0, 0);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height - 40).data;
      return colours.map((hex) => {
        const [r, g, b] = [0, 2, 4].map((o) => parseInt(hex.slice(o, o + 2), 16));
        let n = 0;
        for (let p = 0; p < data.length; p += 4) if (data[p] === r && data[p + 1] === g && data[p + 2] === b) n++;
        return n;
      });
    }, GRAPH_COLOURS.slice(0, 2));
    expect(counts[0], 'temperature line pixels').toBeGreaterThan(150);
    expect(counts[1], 'humidity line pixels').toBeGreaterThan(150);
    await page.close();
  });

  it('serves /metrics and /healthz', async () => {
    const page = await browser.newPage();
    const metrics = await page.goto(`${base}/metrics`);
    expect(await metrics?.text()).toContain(`rrduino_events_total{event="updates.stored"} ${READINGS}`);
    const health = await page.goto(`${base}/healthz`);
    expect(health?.status()).toBe(200);
    await page.close();
  });
});
