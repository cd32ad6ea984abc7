import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '../../src/delivery/delivery-queue.ts';
import { StatusServer } from '../../src/status/status-server.ts';
import { tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { canMount, Tmpfs } from '../helpers/tmpfs.ts';

// /healthz: 200 "ok", or 503 with each reason an operator must act on.

let h: Harness | undefined;
let server: StatusServer | undefined;
const undo: Array<() => Promise<void>> = [];
afterEach(async () => {
  await server?.close();
  await h?.close();
  for (const u of undo.splice(0)) await u();
  server = undefined;
  h = undefined;
});

async function health(destinations: () => DeliveryStatus[] = () => []): Promise<{ status: number; text: string }> {
  if (!h) throw new Error('no harness');
  server = new StatusServer({ backend: h.backend, destinations, logger: h.logs.logger, version: 'test', spoolAlertPoints: 1000 });
  const { port } = await server.listen('127.0.0.1', 0);
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, text: await res.text() };
}

describe('/healthz', () => {
  it('says ok when rrdtool works, the data dir is writable and no spool is past its alert', async () => {
    h = await startHarness();
    await mkdir(h.dataDir, { recursive: true }); // serve makes it at start (claimDataDir)
    expect(await health()).toEqual({ status: 200, text: 'ok\n' });
  });

  it('says 503 when rrdtool cannot run', async () => {
    h = await startHarness(undefined, { rrdtool: '/nonexistent/rrdtool' });
    const { c, board } = await helloBoard(h.port);
    c.send(board.updateLine({ temperature: 1 }));
    await waitFor(() => h?.backend.rrd.problem !== undefined, 5000, 'the failed rrdtool');
    const r = await health();
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/^rrdtool is down: cannot start \/nonexistent\/rrdtool/m);
    c.destroy();
  });

  /** A harness whose data dir is a small tmpfs, unmounted after the test. */
  async function onTmpfs(): Promise<Tmpfs> {
    const { dir, cleanup } = await tempDir();
    const fs = await Tmpfs.mount(join(dir, 'data'), 256);
    undo.push(async () => {
      await fs.unmount();
      await cleanup();
    });
    h = await startHarness(undefined, { dataDir: fs.dir });
    return fs;
  }

  it('says 503 when the data dir is not writable', async () => {
    if (!canMount) return;
    const fs = await onTmpfs();
    await fs.readOnly();
    const r = await health();
    expect(r.status).toBe(503);
    expect(r.text).toContain(`data dir ${fs.dir} is not writable`);
  });

  it('says 503 while the data disk is full, and ok once there is room again', async () => {
    if (!canMount) return;
    const fs = await onTmpfs();
    const filler = await fs.fill();
    const r = await health();
    expect(r.status).toBe(503);
    expect(r.text).toContain('is full');
    await rm(filler);
    await server?.close();
    expect((await health()).status).toBe(200);
  });

  it("says 503 when a destination's spool holds more than its alert", async () => {
    h = await startHarness();
    const spooling: DeliveryStatus = { name: 'carbon', backlog: 5000, spoolPending: 5000, spoolBytes: 1e6, downSinceMs: Date.now() - 60_000, lastError: { message: 'connect ECONNREFUSED', atMs: Date.now() } };
    const r = await health(() => [spooling]);
    expect(r.status).toBe(503);
    expect(r.text).toContain('destination carbon has 5000 points in its spool (alert above 1000)');
  });
});

describe('the status server and bad requests', () => {
  it('answers a malformed URL (a bare %) with 400, not an internal error', async () => {
    h = await startHarness();
    server = new StatusServer({ backend: h.backend, destinations: () => [], logger: h.logs.logger, version: 'test' });
    const { port } = await server.listen('127.0.0.1', 0);
    for (const path of ['/board/%', '/graph/%zz/hour.png', '/%E0%A4%A']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status, path).toBe(400);
    }
    expect(h.logs.lines.filter((l) => l['code'] === 'E_INTERNAL')).toEqual([]);
  });
});
