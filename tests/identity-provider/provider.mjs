// A real OpenID provider (oidc-provider, OpenID Certified) on 127.0.0.1, for Steward's single
// sign-on tests (tests/src/identity_provider.rs starts it and stops it).
//
// Its settings come as JSON in the first argument:
//   { "client": { "client_id", "client_secret", "redirect_uris": [...] },
//     "accounts": { "<login>": { "email", "email_verified", "name", "groups": [...] } } }
// It prints {"issuer": "http://127.0.0.1:<port>"} on its first line, and exits when its
// standard input closes.
//
// People sign in through oidc-provider's own login page (its development interactions: any
// password is accepted for a known login); consent is taken as given for the test client.
//
// What a test may ask of it, on routes of its own:
//   POST /_test/next-id-token {"tamper": "<how>"}: the next ID token the token endpoint answers
//     is rewritten: "expired", "audience", "nonce", "other-key" (signed by a key the provider
//     never published, under a published key's id), "unknown-key" (a key id never published),
//     "none" (alg none, no signature), "hmac" (HS256 keyed with the published public key).
//   POST /_test/rotate-keys: a new signing key, published beside the old one and used from now.
//   POST /_test/groups {"login": "…", "groups": [...]}: the account's groups from now on.
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const settings = JSON.parse(process.argv[2]);

const signingKey = async (kid) => {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
};

const keys = [await signingKey('first')];
// Never published: what an impostor signs with.
const impostor = await signingKey('impostor');

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

let provider;
const build = () => {
  const next = new Provider(issuer, {
    clients: [{
      ...settings.client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys },
    findAccount: (ctx, id) => {
      const account = settings.accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...account }) };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    // Claims in the ID token of the code flow, as Entra ID, Okta and Google put them.
    conformIdTokenClaims: false,
    // Consent is taken as given: the test client asks for what it is allowed.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
      await grant.save();
      return grant;
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['steward-test-provider'] },
  });
  next.use(testRoutes);
  next.use(tamperIdTokens);
  return next;
};

let tamper = null;

const jsonBody = (ctx) => new Promise((resolve) => {
  let text = '';
  ctx.req.on('data', (chunk) => { text += chunk; });
  ctx.req.on('end', () => resolve(JSON.parse(text || '{}')));
});

async function testRoutes(ctx, next) {
  if (ctx.method === 'POST' && ctx.path === '/_test/groups') {
    const body = await jsonBody(ctx);
    settings.accounts[body.login].groups = body.groups;
    ctx.status = 204;
    return undefined;
  }
  if (ctx.method === 'POST' && ctx.path === '/_test/next-id-token') {
    const body = await jsonBody(ctx);
    tamper = body.tamper ?? null;
    ctx.status = 204;
    return undefined;
  }
  if (ctx.method === 'POST' && ctx.path === '/_test/rotate-keys') {
    keys.unshift(await signingKey(`rotated-${keys.length}`));
    provider = build();
    ctx.status = 204;
    return undefined;
  }
  return next();
}

async function tamperIdTokens(ctx, next) {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !tamper || !ctx.body?.id_token) return;
  const how = tamper;
  tamper = null;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  const sign = async (payload, key, header = {}) => new jose.SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header })
    .sign(await jose.importJWK(key, 'RS256'));
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  switch (how) {
    case 'expired':
      ctx.body.id_token = await sign({ ...claims, iat: now - 7200, exp: now - 3600 }, keys[0]);
      break;
    case 'audience':
      ctx.body.id_token = await sign({ ...claims, aud: 'another-client' }, keys[0]);
      break;
    case 'nonce':
      ctx.body.id_token = await sign({ ...claims, nonce: 'another-sign-in' }, keys[0]);
      break;
    case 'other-key':
      ctx.body.id_token = await sign(claims, impostor, { kid: keys[0].kid });
      break;
    case 'unknown-key':
      ctx.body.id_token = await sign(claims, impostor);
      break;
    case 'none':
      ctx.body.id_token = `${b64({ alg: 'none', kid: keys[0].kid })}.${b64(claims)}.`;
      break;
    case 'hmac': {
      const { d, p, q, dp, dq, qi, ...published } = keys[0];
      const secret = new TextEncoder().encode(JSON.stringify(published));
      ctx.body.id_token = await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: keys[0].kid })
        .sign(secret);
      break;
    }
    default:
      throw new Error(`unknown tamper ${how}`);
  }
}

provider = build();
server.on('request', (req, res) => provider.callback()(req, res));

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
console.log(JSON.stringify({ issuer }));
