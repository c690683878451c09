import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { chromiumAvailable, launchChromium, CHROMIUM, type TestBrowser } from '../support/browser';

/**
 * The playground in a real browser (Debian's Chromium through playwright-core) against a real
 * gateway started as `npm start` starts it: embedded database, demo data, demo keys printed.
 * Every request the page (and its Monaco workers) makes is recorded; any to another host fails
 * the test, as does a Content-Security-Policy violation or an uncaught page error.
 */
const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, '.ci', 'out');
// UPDATE_README_SCREENSHOT=1 also refreshes the README's picture (docs/playground.png).
const README_SHOT = path.join(ROOT, 'docs', 'playground.png');

const describeIfChromium = chromiumAvailable() ? describe : describe.skip;
if (!chromiumAvailable()) process.stdout.write(`playground browser test skipped: no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)\n`);

describeIfChromium('playground in a real browser', () => {
  let gateway: GatewayProcess;
  let browser: TestBrowser;
  let page: Page;
  let origin: string;
  let dataDir: string;
  const keys: Record<string, string> = {};
  const foreign: string[] = [];
  const seen: string[] = [];
  const violations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-playground-'));
    gateway = await startGatewayProcess(
      { DATA_DIR: dataDir, DEMO_TRACES: '3000', DEMO_DAYS: '7', CACHE_WARM_ON_START: 'false' },
      { ready: /Playground \(GraphiQL[^)]*\): (http:\/\/\S+\/playground)\n[\s\S]*Try: curl/, timeoutMs: 150_000 },
    );
    origin = new URL(gateway.url).origin;
    for (const m of gateway.output().matchAll(/^ {4}(ADMIN|DEVELOPER|VIEWER|BILLING)\s+(\S+)\s+(obs_\S+)$/gm)) keys[`${m[1]}:${m[2]}`] = m[3]!;
    browser = await launchChromium();
    // Every request of the page and its workers passes here; another host's is recorded and refused.
    await browser.context.route('**/*', (route) => {
      const url = route.request().url();
      seen.push(url);
      if (new URL(url).origin !== origin && !url.startsWith('data:')) {
        foreign.push(url);
        return route.abort();
      }
      return route.continue();
    });
    await browser.context.exposeFunction('reportCspViolation', (v: string) => violations.push(v));
    // Runs in the page (browser globals, not Node's): typed loosely here.
    await browser.context.addInitScript(() => {
      const w = globalThis as any;
      w.document.addEventListener('securitypolicyviolation', (e: any) => w.reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 200_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('npm start prints the playground URL next to the demo keys', () => {
    expect(gateway.url).toBe(`${origin}/playground`);
    expect(Object.keys(keys)).toEqual(expect.arrayContaining(['ADMIN:org_acme', 'DEVELOPER:org_acme', 'VIEWER:org_acme']));
  });

  it('a bad key gets a clear message; a demo key signs in and shows org and role', async () => {
    await page.goto(`${origin}/playground`);
    await page.fill('#pg-key', 'obs_developer_not-a-real-key');
    await page.click('form.pg-signin button[type=submit]');
    await expect(textOf(page, '[data-testid=sign-in-error]')).resolves.toMatch(/refused \(UNAUTHENTICATED\)/);

    await page.fill('#pg-key', keys['DEVELOPER:org_acme']!);
    await page.click('form.pg-signin button[type=submit]');
    await page.waitForSelector('[data-testid=viewer]');
    const badge = await textOf(page, '[data-testid=viewer]');
    expect(badge).toContain('org_acme');
    expect(await textOf(page, '[data-testid=viewer-role]')).toBe('DEVELOPER');
    // Kept in the browser's storage, not in a cookie: a reload stays signed in.
    expect(await page.evaluate(() => (globalThis as any).localStorage.getItem('observatory-playground:api-key'))).toBe(keys['DEVELOPER:org_acme']);
    await page.reload();
    await page.waitForSelector('[data-testid=viewer]');
  });

  it('runs an example tab: the result, its cost (as priced before running), cache and plan', async () => {
    await page.locator('.graphiql-tab', { hasText: 'DashboardPerformance' }).first().click();
    // Priced as soon as the editor holds the example (debounced dry run).
    await page.waitForSelector('[data-testid=price][data-verdict=ok]', { timeout: 30_000 });
    const predicted = Number(await page.getAttribute('[data-testid=price]', 'data-cost'));
    expect(predicted).toBeGreaterThan(0);

    await page.click('.graphiql-execute-button');
    await page.waitForSelector('[data-testid=last-run][data-requested]', { timeout: 30_000 });
    expect(Number(await page.getAttribute('[data-testid=last-run]', 'data-requested'))).toBe(predicted);
    const summary = await textOf(page, '[data-testid=last-run]');
    expect(summary).toMatch(/HTTP 200/);
    expect(summary).toMatch(new RegExp(`cost ${predicted} requested / \\d+ actual`));
    expect(summary).toMatch(/left/);
    expect(summary).toMatch(/plan: .*traces/);
    await waitForText(page, '.graphiql-response', /"requestCount"/);

    await page.click('button[aria-label="Show Run details"]');
    await page.waitForSelector('[data-testid=run-details]');
    const details = await textOf(page, '[data-testid=run-details]');
    expect(details).toMatch(/RateLimit-Policy/);
    expect(details).toMatch(/performance\s*miss: ran, cached for 60 s/);
    expect(details).toMatch(/performance\.plan · percentiles (EXACT|HISTOGRAM)/);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground.png') });
    if (process.env.UPDATE_README_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(README_SHOT), { recursive: true });
      await page.screenshot({ path: README_SHOT });
    }

    // The same document again: now from the cache, at a lower actual cost.
    await page.click('.graphiql-execute-button');
    await waitForText(page, '[data-testid=cache-report]', /performance\s*hit/);
  });

  it('predicts the refusal of an expensive query before it runs, and the run agrees', async () => {
    await page.click('.graphiql-tab-add');
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    // Pasted (Monaco would auto-close typed brackets), then typed on: each keystroke re-prices.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const text = 'query Expensive {\n  a: traces(first: 1000) { nodes { id related { id } } }\n  b: traces(first: 1000) { nodes { id related { id } } }\n';
    const shown = async () => ((await editor.locator('.view-lines').textContent().catch(() => null)) ?? '').replace(/\s+/g, ' ');
    // Under load a paste can fail to happen (the select-all stays, and the typed brace would
    // replace the whole document): the brace is typed only once the editor shows the paste.
    for (let attempt = 1; ; attempt++) {
      await editor.click();
      await page
        .waitForFunction(() => Boolean((globalThis as any).document.activeElement?.closest?.('.graphiql-query-editor .monaco-editor')), null, { timeout: 5000 })
        .catch(() => undefined);
      await page.evaluate((t) => (globalThis as any).navigator.clipboard.writeText(t), text);
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Control+V');
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !/^query Expensive \{.*b: traces.*\} \} \} ?$/.test((await shown()).trim())) await page.waitForTimeout(100);
      if (/^query Expensive \{.*b: traces.*\} \} \} ?$/.test((await shown()).trim())) break;
      if (attempt === 3) throw new Error(`the paste never showed in the editor; it showed: ${(await shown()).slice(0, 300)}`);
    }
    await page.keyboard.type('}', { delay: 50 });
    const price = await waitForText(page, '[data-testid=price]', /Would be refused/).catch(async (err: Error) => {
      throw new Error(`${err.message}; the editor showed: ${(await shown()).slice(0, 300)}`);
    });
    expect(price).toMatch(/Would be refused: it costs \d+ points and one operation may cost at most 12000 \(COST_LIMIT_EXCEEDED\)/);

    await page.click('.graphiql-execute-button');
    await waitForText(page, '[data-testid=last-run]', /errors: COST_LIMIT_EXCEEDED/);
  });

  it('GET /graphql from a browser opens the playground', async () => {
    const response = await page.goto(`${origin}/graphql`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('[data-testid=viewer]');
    expect(await page.title()).toMatch(/Playground/);
  });

  it('made no request to any host but the gateway, and broke no CSP rule', () => {
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.some((u) => /\/assets\/graphql\.worker-/.test(u))).toBe(true);
    expect(foreign).toEqual([]);
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

async function textOf(page: Page, selector: string): Promise<string> {
  await page.waitForSelector(selector);
  return (await page.textContent(selector))?.trim() ?? '';
}

/** Waits until the element's text matches; the failure says what the text was instead. */
async function waitForText(page: Page, selector: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? '';
    if (pattern.test(last)) return last.trim();
    await page.waitForTimeout(200);
  }
  throw new Error(`${selector} never matched ${pattern}; its text was: ${last.slice(0, 500)}`);
}
