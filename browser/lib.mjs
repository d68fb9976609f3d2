// Shared by the browser tests: Debian's chromium through playwright-core, and
// a page that records what a person would never see but a test must: console
// errors (CSP violations among them) and every request the page makes.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

export const baseURL = process.env.CREDKEEP_URL;
export const adminJWT = process.env.CREDKEEP_ADMIN_JWT;
if (!baseURL || !adminJWT) throw new Error('run through browser/run.sh (CREDKEEP_URL, CREDKEEP_ADMIN_JWT)');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// watch records a page's console errors, page errors and requests.
export function watch(page) {
  const seen = { errors: [], requests: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('request', (r) => seen.requests.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() }));
  return seen;
}

// open loads path in a new page of a new context and watches it.
export async function open(browser, path, base = baseURL) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(new URL(path, base).toString());
  return { page, context, seen };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axe runs axe-core on the page (through the DevTools protocol, which the
// page's CSP does not govern) and returns its serious and critical violations.
export async function axe(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

// screenshot saves the page under CREDKEEP_SCREENSHOTS (docs/screenshots when
// the README's images are remade), and does nothing otherwise.
export async function screenshot(page, name) {
  const dir = process.env.CREDKEEP_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}.png` });
}

// gql calls the API directly (to seed data), with a token.
export async function gql(base, token, query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
