// Events the way an integrator receives them, with the clients they would use:
// graphql-ws (graphql-transport-ws) and graphql-sse (distinct connections)
// subscribed to workspaceEvents, and a webhook receiver that verifies every
// delivery with the standardwebhooks package. Usage: node events.mjs URL JWT.
// The server must allow private targets (the receiver is on loopback).
import http from 'node:http';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient as createWSClient } from 'graphql-ws';
import { createClient as createSSEClient } from 'graphql-sse';
import { Webhook } from 'standardwebhooks';

const [url, jwt] = process.argv.slice(2);
const auth = `Bearer ${jwt}`;

async function gql(query, variables) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: auth },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const subscription = `subscription($ws: ID!, $after: Int) { workspaceEvents(workspaceId: $ws, afterSeq: $after) { id seq action targetName } }`;

// collect subscribes through iterate() and resolves with n events.
async function collect(client, variables, n) {
  const out = [];
  const it = client.iterate({ query: subscription, variables });
  const timer = setTimeout(() => it.return(), 15000);
  for await (const result of it) {
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    out.push(result.data.workspaceEvents);
    if (out.length === n) break;
  }
  clearTimeout(timer);
  assert.equal(out.length, n, `got ${out.length} events, want ${n}`);
  return out;
}

function inOrder(events, first) {
  events.forEach((e, i) => assert.equal(e.seq, first + i, `event ${i} has seq ${e.seq}, want ${first + i}`));
}

const wsClient = createWSClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: auth },
  lazy: true,
  retryAttempts: 0,
});
const sseClient = createSSEClient({ url, headers: { Authorization: auth }, retryAttempts: 0 });

const ws = (await gql(`mutation { createWorkspace(input: {name: "events"}) { id } }`)).createWorkspace.id;

// A receiver that verifies each delivery as the standardwebhooks package does.
let verifier;
const deliveries = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const payload = verifier.verify(body, req.headers);
      deliveries.push({ id: req.headers['webhook-id'], payload, body, headers: req.headers });
      res.writeHead(204).end();
    } catch (err) {
      deliveries.push({ error: String(err) });
      res.writeHead(400).end();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookURL = `http://127.0.0.1:${receiver.address().port}/credkeep`;
const created = (await gql(`mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { signingSecret webhook { id lastSeq } } }`,
  { in: { workspaceId: ws, name: 'conformance', url: hookURL, events: ['WORKSPACE_UPDATED'] } })).createWebhook;
verifier = new Webhook(created.signingSecret);
const start = created.webhook.lastSeq;

// Both clients from the webhook's creation on; 50 entries written.
const live = Promise.all([collect(wsClient, { ws, after: start }, 50), collect(sseClient, { ws, after: start }, 50)]);
for (let i = 0; i < 50; i++) {
  await gql(`mutation($id: ID!, $name: String!) { renameWorkspace(id: $id, name: $name) { id } }`, { id: ws, name: `events ${i}` });
}
const [overWS, overSSE] = await live;
inOrder(overWS, start + 1);
inOrder(overSSE, start + 1);
assert.equal(overWS[49].targetName, 'events 49');
assert.deepEqual(overSSE, overWS);

// Resumed after the 20th: exactly the 30 after it, then nothing more.
const resumed = await collect(wsClient, { ws, after: start + 20 }, 30);
inOrder(resumed, start + 21);

// The webhook: 50 verified deliveries in seq order, none holding a secret.
for (let i = 0; i < 100 && deliveries.length < 50; i++) await new Promise((r) => setTimeout(r, 100));
assert.equal(deliveries.length, 50, `receiver got ${deliveries.length} deliveries`);
deliveries.forEach((d, i) => {
  assert.equal(d.error, undefined, d.error);
  assert.equal(d.payload.type, 'WORKSPACE_UPDATED');
  assert.equal(d.payload.data.seq, start + 1 + i);
  assert.equal(d.payload.data.workspaceId, ws);
  assert.ok(!d.body.includes(created.signingSecret));
});
// The check can fail: a changed body does not verify.
assert.throws(() => verifier.verify(deliveries[0].body + ' ', deliveries[0].headers));

await wsClient.dispose();
receiver.close();
console.log(`events: graphql-ws and graphql-sse got 50 entries in order, a resume got exactly 30, a webhook got 50 verified deliveries`);
