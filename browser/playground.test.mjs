// The playground (SPEC.md §9): no request before a token is given, the schema
// loads once one is pasted, and loads again when it changes; no console error
// or CSP violation, no favicon 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminJWT, launch, open } from './lib.mjs';

const graphql = (seen) => seen.requests.filter((r) => new URL(r.url).pathname === '/graphql');

test('the playground waits for a token, then loads the schema', async () => {
  const browser = await launch();
  try {
    const { page, seen } = await open(browser, '/playground');
    await page.locator('.graphiql-container').waitFor();
    await page.waitForTimeout(1000);
    assert.deepEqual(graphql(seen), [], 'requests before a token was given');
    assert.match(await page.locator('.graphiql-response').innerText(), /Paste a token/);

    // Paste a token into the headers editor: the schema is fetched with it.
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await headers.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(`{"Authorization": "Bearer ${adminJWT}"}`); // a paste
    await page.waitForResponse((r) => new URL(r.url()).pathname === '/graphql' && r.status() === 200);
    const sent = graphql(seen);
    assert.ok(sent.length >= 1 && sent.every((r) => r.headers.authorization === `Bearer ${adminJWT}`), 'introspection with the token');
    assert.ok(sent.some((r) => (r.body || '').includes('__schema')), 'an introspection query was sent');

    // The docs now show the schema.
    await page.locator('[aria-label="Show Documentation Explorer"]').click();
    await page.getByText('A GraphQL schema provides a root type for each kind of operation.').waitFor();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();

    // A different token: introspected again, with it.
    const before = graphql(seen).length;
    await headers.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(`{"Authorization": "Bearer ${adminJWT}x"}`);
    await page.waitForResponse((r) => new URL(r.url()).pathname === '/graphql' && r.request().headers().authorization?.endsWith('x'));
    assert.ok(graphql(seen).length > before, 'the schema was fetched again after the token changed');

    const unexpected = seen.errors.filter((e) => !e.includes('401')); // the wrong token's answer
    assert.deepEqual(unexpected, [], 'console errors or CSP violations');
    assert.ok(!seen.requests.some((r) => r.url.endsWith('/favicon.ico')), 'a favicon request');
  } finally {
    await browser.close();
  }
});
