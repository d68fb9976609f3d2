// The console (SPEC.md §10) in a real browser, as the people who use it:
// sign in with OpenID Connect, create a workspace, add a member, create an
// SMTP credential through the generated form (fixing a validation error on the
// way), share it at VIEW, create and revoke an API token, create and pause a
// webhook (its signing secret shown once), find all of it in
// the audit log and verify the chain; then the member signs in and sees the
// masked hint and no edit action. On every screen: no console error, no CSP
// violation, no serious or critical axe-core violation. The secret is in no
// request but the one that saves it, and in no page after that.
// Then, on the development server: the sign-in link, 200 credentials (time to
// the first rendered page), GraphQL requests per screen, and an expired token
// that sends the person to sign in and back to the page they were on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { adminJWT, axe, baseURL, gql, launch, screenshot, watch } from './lib.mjs';

const oidcURL = process.env.CREDKEEP_OIDC_URL;
const secret = 'smtp-secret-8841';
const numbers = {};

// check runs axe on the current screen and remembers what it found.
async function accessible(page, screen, found) {
  const v = await axe(page);
  if (v.length) found.push(`${screen}: ${v.join('; ')}`);
}

async function signInWithOIDC(page, username) {
  await page.goto(`${oidcURL}/`);
  await page.waitForURL('**/signin');
  await page.getByRole('button', { name: /Sign in with/ }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}

test('people manage credentials in the console', async () => {
  const browser = await launch();
  const axeFound = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const seen = watch(page);

    // Sign in through the provider: PKCE, then back to the console.
    await page.goto(`${oidcURL}/w/none/credentials`);
    await page.waitForURL('**/signin');
    await accessible(page, 'sign-in', axeFound);
    await screenshot(page, 'signin');
    await page.getByRole('button', { name: /Sign in with/ }).click();
    await page.getByLabel('Username').fill('olivia');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/w/none/credentials'); // back where the person was going
    await page.getByText('Choose a workspace').or(page.getByRole('link', { name: 'Workspaces' })).first().waitFor();
    assert.equal(await page.evaluate(() => localStorage.length + document.cookie.length), 0, 'the token went to localStorage or a cookie');

    // A workspace.
    await page.getByRole('link', { name: 'Workspaces' }).click();
    await page.getByText('You are in no workspace yet').waitFor();
    await accessible(page, 'workspaces', axeFound);
    await page.getByLabel('Name').fill('Acme');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.waitForURL(/\/w\/[^/]+\/credentials$/);
    const ws = new URL(page.url()).pathname.split('/')[2];
    await page.getByText('No credentials yet').waitFor();
    await accessible(page, 'credentials (empty)', axeFound);

    // A member.
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('User id').fill('bob');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('cell', { name: /bob/ }).first().waitFor();
    await accessible(page, 'members', axeFound);
    await screenshot(page, 'members');

    // An SMTP credential through the generated form, with a mistake to fix.
    await page.getByRole('link', { name: 'Credentials' }).click();
    await page.getByRole('link', { name: 'New credential' }).click();
    await accessible(page, 'type picker', axeFound);
    await screenshot(page, 'new-credential');
    await page.getByRole('link', { name: /SMTP/ }).click();
    await page.getByLabel('Name', { exact: true }).fill('Mail');
    await page.getByLabel('Host').fill('smtp.example.com');
    await page.getByLabel('Port').fill('99999');
    await page.getByLabel('Username').fill('mailer');
    await page.getByLabel('Password').fill(secret);
    await page.getByRole('button', { name: 'Save credential' }).click();
    const portError = page.locator('#field-port-error');
    await portError.waitFor();
    assert.match(await portError.innerText(), /Port must be a port number from 1 to 65535/);
    assert.equal(await page.getByLabel('Port').getAttribute('aria-invalid'), 'true');
    await accessible(page, 'credential form with an error', axeFound);
    await screenshot(page, 'credential-form');
    await page.getByLabel('Port').fill('587');
    await page.getByRole('button', { name: 'Save credential' }).click();
    await page.waitForURL(/\/credentials\/[0-9a-f-]{36}$/);
    const credentialId = new URL(page.url()).pathname.split('/').pop();
    await page.getByText('••••8841').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is in the page after saving');
    await accessible(page, 'credential detail', axeFound);

    // Shared with the member at VIEW.
    await page.getByRole('button', { name: 'Share' }).click();
    await page.getByLabel("Member's user id").fill('bob');
    await page.getByLabel(/View: also sees/).check();
    await accessible(page, 'share dialog', axeFound);
    await page.getByRole('dialog').getByRole('button', { name: 'Share' }).click();
    await page.locator('.grants').getByText('View').waitFor();
    await screenshot(page, 'credential-detail');

    // An API token: shown once, copied, revoked.
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('Name').fill('ci-bot');
    await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Create token' }).click();
    const once = page.locator('.once code');
    await once.waitFor();
    const apiToken = await once.innerText();
    assert.match(apiToken, /^ck_/);
    await page.getByRole('button', { name: 'Copy token' }).waitFor();
    await accessible(page, 'token shown once', axeFound);
    await screenshot(page, 'api-tokens');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    assert.ok(!(await page.content()).includes(apiToken), 'the token is still in the page');
    await page.getByRole('button', { name: 'Revoke ci-bot' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('No tokens yet').waitFor();

    // A webhook: its signing secret shown once, then paused.
    await page.goto(`${oidcURL}/w/${ws}/credentials`);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No webhooks yet').waitFor();
    await page.getByLabel('Name').fill('Ops alerts');
    await page.getByLabel('Endpoint URL').fill('https://hooks.example.com/credkeep');
    await page.getByLabel('A credential was shared').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const signing = page.locator('.once code');
    await signing.waitFor();
    const whsec = await signing.innerText();
    assert.match(whsec, /^whsec_[A-Za-z0-9+/]{43}=$/);
    await accessible(page, 'webhook secret shown once', axeFound);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    assert.ok(!(await page.content()).includes(whsec), 'the signing secret is still in the page');
    await page.getByRole('heading', { name: /Ops alerts/ }).waitFor();
    await page.getByRole('button', { name: 'Pause Ops alerts' }).click();
    await page.getByText('Paused: events wait').waitFor();
    await page.getByRole('button', { name: 'Show deliveries of Ops alerts' }).click();
    await page.getByText('Nothing delivered yet').waitFor();
    await accessible(page, 'webhooks', axeFound);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'webhooks');

    // The audit log has all of it, and its chain holds.
    await page.goto(`${oidcURL}/w/${ws}/audit`);
    for (const action of ['Credential created', 'Credential shared', 'Token created', 'Token revoked', 'Member added']) {
      await page.getByRole('cell', { name: action, exact: true }).first().waitFor();
    }
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByText(/The chain is intact: \d+ entries checked/).waitFor();
    await accessible(page, 'audit log', axeFound);
    await screenshot(page, 'audit-log');

    // The secret travelled only in the requests that saved it: the refused
    // attempt and the fixed one, both by document id.
    const carrying = seen.requests.filter((r) => (r.body ?? '').includes(secret) || r.url.includes(secret));
    assert.equal(carrying.length, 2, `requests carrying the secret: ${carrying.map((r) => r.url)}`);
    for (const r of carrying) {
      const body = JSON.parse(r.body);
      assert.ok(body.operationName === 'CreateCredential' && body.extensions?.persistedQuery && !body.query, r.body);
    }
    const graphql = seen.requests.filter((r) => new URL(r.url).pathname === '/graphql');
    assert.ok(graphql.length > 10 && graphql.every((r) => !JSON.parse(r.body ?? '{}').query), 'a request sent query text');

    // The member: the hint, and nothing to edit.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    await signInWithOIDC(page, 'bob');
    await page.goto(`${oidcURL}/w/${ws}/credentials/${credentialId}`);
    await page.getByText('••••8841').waitFor();
    for (const action of ['Edit', 'Share', 'Delete', 'Test connection']) {
      assert.equal(await page.getByRole('button', { name: action, exact: true }).count(), 0, `the member is offered ${action}`);
    }
    assert.ok(!(await page.content()).includes(secret));
    await accessible(page, 'credential detail (member)', axeFound);

    assert.deepEqual(seen.errors, [], 'console errors or CSP violations');
    assert.deepEqual(axeFound, [], 'serious or critical accessibility violations');
  } catch (e) {
    await evidence(browser, 'oidc', e);
    throw e;
  } finally {
    await browser.close();
  }
});

test('the sign-in link, a list of 200, requests per screen, an expired session', async () => {
  const browser = await launch();
  try {
    const { workspaceId: ws, first } = await seed(200);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const seen = watch(page);

    // The development sign-in link: the token leaves the address bar at once.
    const link = new URL(process.env.CREDKEEP_SIGNIN_LINK); // printed for localhost: the same server
    await page.goto(`${baseURL}/${link.hash}`);
    await page.waitForURL((u) => !u.hash && !u.pathname.startsWith('/signin'));
    assert.ok(!page.url().includes('token'), page.url());

    // Time to the first rendered page of the list (50 rows of 200).
    const started = Date.now();
    await page.goto(`${baseURL}/w/${ws}/credentials`);
    await page.locator('table.list tbody tr').nth(49).waitFor();
    numbers.firstRenderMs = Date.now() - started;
    assert.match(await page.getByText(/200 credentials/).innerText(), /200/);
    await screenshot(page, 'credentials');

    // The keyboard alone: search from the list.
    await page.getByRole('searchbox').focus();
    await page.keyboard.type('Mail 19');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=Mail\+19/);
    await page.getByText(/^1[01] credentials?$/).waitFor();

    // A narrow window: the page does not scroll sideways (tables scroll in their own box).
    await page.setViewportSize({ width: 380, height: 800 });
    await page.goto(`${baseURL}/w/${ws}/credentials/${first}`);
    await page.getByRole('heading', { name: 'Configuration' }).waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the narrow page scrolls sideways');
    await screenshot(page, 'narrow');
    await page.setViewportSize({ width: 1280, height: 860 });

    // GraphQL requests each screen makes when opened from its URL.
    const screens = {
      credentials: `/w/${ws}/credentials`, detail: `/w/${ws}/credentials/${first}`, 'new credential': `/w/${ws}/credentials/new/smtp`,
      members: `/w/${ws}/members`, defaults: `/w/${ws}/defaults`, 'audit log': `/w/${ws}/audit`, webhooks: `/w/${ws}/webhooks`, 'API tokens': '/tokens', workspaces: '/workspaces',
    };
    numbers.requests = {};
    for (const [name, path] of Object.entries(screens)) {
      const before = seen.requests.length;
      await page.goto(`${baseURL}${path}`, { waitUntil: 'networkidle' });
      numbers.requests[name] = seen.requests.slice(before).filter((r) => new URL(r.url).pathname === '/graphql').length;
    }

    // A session that expires sends the person to sign in, then back.
    const short = execFileSync(process.env.CREDKEEP_BIN, ['token', '--sub', 'dev-admin', '--admin', '--ttl', '2s'],
      { env: { ...process.env, CREDKEEP_DATA_DIR: process.env.CREDKEEP_DEV_DATA } }).toString().trim();
    await page.goto(`${baseURL}/w/${ws}/audit#token=${short}`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.waitForTimeout(2500);
    await page.getByRole('link', { name: 'Members' }).click();
    await page.waitForURL('**/signin');
    await page.goto(`${baseURL}/signin#token=${adminJWT}`);
    await page.waitForURL(`**/w/${ws}/members`);
    assert.deepEqual(seen.errors.filter((e) => !/401/.test(e)), [], 'console errors or CSP violations');
    console.log(`console numbers: ${JSON.stringify(numbers)}`);
  } catch (e) {
    await evidence(browser, 'dev', e);
    throw e;
  } finally {
    await browser.close();
  }
});

// seed makes a workspace of n SMTP credentials through the API.
async function seed(n) {
  const { createWorkspace } = await gql(baseURL, adminJWT, 'mutation { createWorkspace(input: {name: "Two hundred"}) { id } }');
  let first = '';
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, n - i) }, async (_, j) => {
      const d = await gql(baseURL, adminJWT, 'mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }', {
        in: { workspaceId: createWorkspace.id, type: 'smtp', name: `Mail ${String(i + j).padStart(3, '0')}`, tags: ['env:prod'],
          fields: [{ key: 'host', value: 'smtp.example.com' }, { key: 'username', value: `u${i + j}` }, { key: 'password', value: `pw-${i + j}-secret` }] },
      });
      if (i + j === 0) first = d.createCredential.id;
    }));
  }
  return { workspaceId: createWorkspace.id, first };
}

// evidence keeps what the pages showed when a test failed: a screenshot in
// the temporary directory and the page's text on the test output.
async function evidence(browser, name, e) {
  for (const [i, p] of browser.contexts().flatMap((c) => c.pages()).entries()) {
    await p.screenshot({ path: `/tmp/credkeep-browser-${name}-${i}.png` }).catch(() => {});
    console.log(`-- ${name} page ${i} at ${p.url()} when failing (${e.message.split('\n')[0]}):\n${(await p.locator('body').innerText().catch(() => '')).slice(0, 1500)}`);
  }
}
