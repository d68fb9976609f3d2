// A small OpenID Connect provider for the browser tests, on loopback:
// discovery, JWKS, an authorization endpoint with a sign-in form, and a token
// endpoint (authorization code with PKCE S256 only, public client, CORS for
// the console). ID tokens are RS256 with a key made at start.
// Usage: node oidc-provider.mjs PORT_FILE — writes its issuer URL to PORT_FILE.
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export const clientId = 'credkeep-console';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = randomBytes(8).toString('hex');
const codes = new Map();
const b64url = (b) => Buffer.from(b).toString('base64url');
const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function jwt(claims) {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify(claims));
  return `${head}.${body}.${b64url(sign('sha256', Buffer.from(`${head}.${body}`), privateKey))}`;
}

function loopback(u) {
  try { return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname); } catch { return false; }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  const send = (status, body, type = 'application/json', headers = {}) => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const cors = req.headers.origin && loopback(req.headers.origin)
    ? { 'Access-Control-Allow-Origin': req.headers.origin, 'Access-Control-Allow-Headers': 'content-type, dpop', 'Access-Control-Allow-Methods': 'POST' } : {};
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return send(200, {
        issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['none'],
      });
    case '/jwks':
      return send(200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
    case '/authorize': {
      const q = url.searchParams;
      if (q.get('client_id') !== clientId || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' ||
        !q.get('code_challenge') || !loopback(q.get('redirect_uri'))) {
        return send(400, 'bad authorization request', 'text/plain');
      }
      const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`).join('');
      return send(200, `<!doctype html><html lang="en"><head><title>Test identity provider</title><link rel="icon" href="data:,"></head><body><main>
<h1>Test identity provider</h1><form method="get" action="/login">${hidden}
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<button>Sign in</button></form></main></body></html>`, 'text/html; charset=utf-8');
    }
    case '/login': {
      const q = url.searchParams;
      const code = randomBytes(16).toString('hex');
      codes.set(code, { sub: q.get('username'), challenge: q.get('code_challenge'), redirect: q.get('redirect_uri'), nonce: q.get('nonce') });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      back.searchParams.set('iss', issuer);
      return send(302, '', 'text/plain', { Location: back.toString() });
    }
    case '/token': {
      if (req.method === 'OPTIONS') return send(204, '', 'text/plain', cors);
      let body = '';
      for await (const chunk of req) body += chunk;
      const f = new URLSearchParams(body);
      const grant = codes.get(f.get('code'));
      codes.delete(f.get('code'));
      const verifier = f.get('code_verifier') ?? '';
      if (f.get('grant_type') !== 'authorization_code' || !grant || f.get('client_id') !== clientId ||
        f.get('redirect_uri') !== grant.redirect || b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge) {
        return send(400, { error: 'invalid_grant' }, 'application/json', cors);
      }
      const now = Math.floor(Date.now() / 1000);
      const idToken = jwt({ iss: issuer, sub: grant.sub, aud: clientId, iat: now, exp: now + 3600, nonce: grant.nonce,
        email: `${grant.sub}@example.com`, name: grant.sub.charAt(0).toUpperCase() + grant.sub.slice(1) });
      return send(200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 3600, id_token: idToken }, 'application/json', cors);
    }
  }
  return send(404, 'not found', 'text/plain');
});

let issuer = '';
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  writeFileSync(process.argv[2], issuer);
});
