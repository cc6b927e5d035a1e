// A real OpenID provider for the single sign-on tests: oidc-provider with its development
// login page, which signs in whoever types a login name (any password). Who they are follows
// from that name (see `person`). Listens on 127.0.0.1 only.
//   node provider.mjs PORT REDIRECT_BASE...   (each portal's address, e.g. http://127.0.0.1:9300)
import Provider from 'oidc-provider';

const [port, ...portals] = process.argv.slice(2);
if (!port || portals.length === 0) {
  console.error('usage: node provider.mjs PORT PORTAL_URL...');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

export const CLIENT_ID = 'switchboard-e2e';
export const CLIENT_SECRET = 'switchboard-e2e-secret';

// The test people: `<name>` has a verified address at example.com and is in the staff group;
// `nameless-…` has no username; `unverified-…` has an unverified address.
function person(login) {
  const claims = {
    sub: `subject-${login}`,
    email: `${login}@example.com`,
    email_verified: !login.startsWith('unverified-'),
    groups: ['staff', `team-${login.length % 3}`],
  };
  if (!login.startsWith('nameless-')) claims.preferred_username = login;
  return claims;
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: portals.map((url) => `${url}/login/callback`),
    post_logout_redirect_uris: portals.map((url) => `${url}/login`),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  // Claims asked for by scope go in the ID token itself (the portal reads only the ID token).
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'groups'],
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['switchboard-test-cookie-key'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return person(id); } };
  },
  // The portal is a first-party client: no consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message));
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`OpenID provider at ${issuer} for ${portals.join(', ')}`);
});
