import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, haveChromium, launchChromium } from '../support/browser';
import { localDeployment } from '../support/deployment';

const it_ = haveChromium() ? it : it.skip;
if (!haveChromium()) console.warn(`status page suite skipped: no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

describe("the broker's status page in a real browser", () => {
  const deployment = localDeployment('all');
  let browser: Browser | undefined;
  afterAll(() => browser?.close());

  it_('shows the workers and live throughput and latency charts while the service is under load', async () => {
    await deployment.startBroker([], { http: true });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await deployment.startWorker(5)).id);
    const load = deployment.client(['--requests', '4000', '--concurrency', '6', '--timeout', '0']);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1000, height: 480 } });
    await page.goto(`http://127.0.0.1:${deployment.httpPort}/`);
    // The page reads /status every second: wait for three workers and two points of each chart.
    await page.locator('#workers tr').nth(2).waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      () =>
        ['#throughput', '#latency'].every(
          (id) => (document.querySelector(`${id} polyline`)?.getAttribute('points') ?? '').split(' ').filter(Boolean).length >= 2,
        ),
      undefined,
      { timeout: 15_000 },
    );
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png') });

    const rows = await page
      .locator('#workers tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[0]).sort()).toEqual([...ids].sort());
    for (const r of rows) expect(r.slice(1, 4)).toEqual(['default', 'TSR/1', '1']);
    const services = await page
      .locator('#services tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(services.map((r) => r.slice(0, 2))).toEqual([['default', String(ids.length)]]);
    expect(Number(await page.textContent('#rps'))).toBeGreaterThan(0); // replies per second, under load
    expect(Number(await page.textContent('#latency-ms'))).toBeGreaterThan(4); // each request takes a worker 5 ms
    expect(Number(await page.textContent('#requests'))).toBeGreaterThan(0);
    expect(await page.textContent('#error')).toBe('');
    expect(await load.exited).toBe(0);
  });
});
