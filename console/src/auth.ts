// The session: a bearer token held in sessionStorage (this tab only, gone
// when it closes; never localStorage or a cookie), from the development
// sign-in link (#token=… in the URL fragment, which browsers never send) or
// from OpenID Connect (authorization code with PKCE, through oauth4webapi).
import * as oauth from 'oauth4webapi';
import type { OIDCConfig } from './config';

const tokenKey = 'credkeep.token';
const flowKey = 'credkeep.oidc';
const returnKey = 'credkeep.returnTo';
export const callbackPath = '/signin/callback';

/** takeFragmentToken stores a token given in the URL fragment and removes it from the address bar. */
export function takeFragmentToken(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!token) return;
  sessionStorage.setItem(tokenKey, token);
  history.replaceState(null, '', location.pathname + location.search);
}

/** token is the session's bearer token, or null when there is none or it has expired. */
export function token(): string | null {
  const t = sessionStorage.getItem(tokenKey);
  if (!t) return null;
  const exp = expiry(t);
  if (exp !== null && exp * 1000 <= Date.now()) {
    sessionStorage.removeItem(tokenKey);
    return null;
  }
  return t;
}

/** expiry is a JWT's exp claim (seconds), or null when it has none or is not a JWT. */
function expiry(jwt: string): number | null {
  const payload = jwt.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : null;
  } catch {
    return null;
  }
}

/** rememberPlace keeps the page to come back to after signing in. */
export function rememberPlace(path: string): void {
  if (!path.startsWith('/signin')) sessionStorage.setItem(returnKey, path);
}

/** takePlace is the page to go back to after signing in ("/" when none). */
export function takePlace(): string {
  const p = sessionStorage.getItem(returnKey);
  sessionStorage.removeItem(returnKey);
  return p && p.startsWith('/') && !p.startsWith('//') ? p : '/';
}

/** signOut ends the session in this tab. */
export function signOut(): void {
  sessionStorage.removeItem(tokenKey);
  sessionStorage.removeItem(flowKey);
}

function server(c: OIDCConfig): oauth.AuthorizationServer {
  return { issuer: c.issuer, authorization_endpoint: c.authorizationEndpoint, token_endpoint: c.tokenEndpoint };
}

// A provider on this machine (development, tests) may speak plain HTTP.
function insecureAllowed(c: OIDCConfig): boolean {
  const host = new URL(c.issuer).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** startOIDC sends the browser to the provider's sign-in page. */
export async function startOIDC(c: OIDCConfig): Promise<void> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(flowKey, JSON.stringify({ verifier, state, nonce }));
  const url = new URL(c.authorizationEndpoint);
  url.searchParams.set('client_id', c.clientId);
  url.searchParams.set('redirect_uri', location.origin + callbackPath);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', c.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (c.audience) url.searchParams.set('audience', c.audience);
  location.assign(url.toString());
}

/** finishOIDC trades the code the provider sent back for tokens and keeps the one credkeep takes. */
export async function finishOIDC(c: OIDCConfig): Promise<void> {
  const flow = JSON.parse(sessionStorage.getItem(flowKey) ?? 'null') as { verifier: string; state: string; nonce: string } | null;
  sessionStorage.removeItem(flowKey);
  if (!flow) throw new Error('This sign-in was not started here, or was already used. Start again.');
  const as = server(c);
  const client: oauth.Client = { client_id: c.clientId };
  const options = insecureAllowed(c) ? { [oauth.allowInsecureRequests]: true } : {};
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), flow.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params,
    location.origin + callbackPath, flow.verifier, options);
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: flow.nonce, requireIdToken: true });
  const bearer = c.audience ? result.access_token : result.id_token;
  if (!bearer) throw new Error('The provider sent no token credkeep can use.');
  sessionStorage.setItem(tokenKey, bearer);
  history.replaceState(null, '', callbackPath);
}
