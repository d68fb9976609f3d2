// Shared by the browser tests: Debian's chromium through playwright-core, and
// a page that records what a person would never see but a test must: console
// errors, CSP violations, and every request the page makes.
import { chromium } from 'playwright-core';

export const baseURL = process.env.CREDKEEP_URL;
export const adminJWT = process.env.CREDKEEP_ADMIN_JWT;
if (!baseURL || !adminJWT) throw new Error('run through browser/run.sh (CREDKEEP_URL, CREDKEEP_ADMIN_JWT)');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// open loads path in a new page and records its console errors (CSP
// violations among them), failed requests, and every request with its headers.
export async function open(browser, path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = { errors: [], requests: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('request', (r) => seen.requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() }));
  await page.goto(new URL(path, baseURL).toString());
  return { page, context, seen };
}
