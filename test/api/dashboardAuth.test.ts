// Dashboard sign-in over plain HTTP (the pages themselves are checked in
// Chromium): the cookie's flags, 303 without a session, CSRF on every POST,
// a revoked key ends its sessions, and no open redirect after sign-in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

/** A tiny browser: keeps cookies per name, never follows redirects. */
function browser(base: string) {
  const jar = new Map<string, string>();
  const request = async (path: string, init: { method?: string; form?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(new URL(path, base), { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (v === '') jar.delete(k);
      else jar.set(k, v);
    }
    return { status: res.status, headers: res.headers, text: await res.text(), setCookies: res.headers.getSetCookie() };
  };
  const field = (text: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(text)?.[1];
  return {
    jar,
    request,
    field,
    async signIn(key: string, next = '/dashboard') {
      const form = await request(`/dashboard/login?next=${encodeURIComponent(next)}`);
      return request('/dashboard/login', { form: { key, next: field(form.text, 'next') ?? '', _csrf: field(form.text, '_csrf') ?? '' } });
    },
  };
}

describe('dashboard sign-in', () => {
  let hs: TestHookshot;
  before(async () => {
    hs = await startTestHookshot();
  });
  after(async () => {
    await hs?.close();
  });

  it('pages without a session redirect (303) to the login page, which comes back after', async () => {
    const b = browser(hs.apiUrl);
    const r = await b.request('/dashboard');
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/dashboard/login?next=%2Fdashboard');
    const signed = await b.signIn(hs.keys.live, '/dashboard');
    assert.equal(signed.status, 303);
    assert.equal(signed.headers.get('location'), '/dashboard');
    const cookie = signed.setCookies.find((c) => c.startsWith('hookshot_session='))!;
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=lax/i);
    assert.match(cookie, /path=\//i);
    const home = await b.request('/dashboard');
    assert.equal(home.status, 200);
    assert.match(home.text, /default · <span class="env env-live">live<\/span>/);
    assert.match(home.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  it('a wrong key, a missing login token, or a foreign next are refused', async () => {
    const b = browser(hs.apiUrl);
    assert.equal((await b.signIn('not-a-key')).status, 401);
    const noToken = await b.request('/dashboard/login', { form: { key: hs.keys.live } });
    assert.equal(noToken.status, 403);
    assert.ok(!b.jar.has('hookshot_session'));
    const open = await b.signIn(hs.keys.live, 'https://evil.example/');
    assert.equal(open.headers.get('location'), '/dashboard');
    const slashes = await browser(hs.apiUrl).signIn(hs.keys.live, '//evil.example/x');
    assert.equal(slashes.headers.get('location'), '/dashboard');
  });

  it('a POST without its CSRF token changes nothing (403); with it, sign-out ends the session', async () => {
    const b = browser(hs.apiUrl);
    await b.signIn(hs.keys.test);
    const forged = await b.request('/dashboard/logout', { form: { _csrf: 'wrong' } });
    assert.equal(forged.status, 403);
    assert.match(forged.text, /security token/);
    assert.equal((await b.request('/dashboard')).status, 200, 'still signed in');
    const home = await b.request('/dashboard');
    const out = await b.request('/dashboard/logout', { form: { _csrf: b.field(home.text, '_csrf')! } });
    assert.equal(out.status, 303);
    assert.equal((await b.request('/dashboard')).status, 303, 'signed out');
  });

  it('a forged or tampered cookie is no session; revoking the key ends its sessions', async () => {
    const forged = browser(hs.apiUrl);
    forged.jar.set('hookshot_session', 'abc.def');
    assert.equal((await forged.request('/dashboard')).status, 303);

    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const { key } = (await hs.api('/admin/projects/default/keys', { method: 'POST', headers: admin, json: { env: 'test' } })).body;
    const b = browser(hs.apiUrl);
    await b.signIn(key);
    const token = b.jar.get('hookshot_session')!;
    const tampered = browser(hs.apiUrl);
    tampered.jar.set('hookshot_session', `${token.slice(0, token.lastIndexOf('.'))}x${token.slice(token.lastIndexOf('.'))}`);
    assert.equal((await tampered.request('/dashboard')).status, 303);
    assert.equal((await b.request('/dashboard')).status, 200);
    assert.equal((await hs.api(`/admin/keys/${key.slice(0, 18)}`, { method: 'DELETE', headers: admin })).status < 300, true);
    assert.equal((await b.request('/dashboard')).status, 303, 'revoked key, session over');
  });
});
