import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';
import { imageInfo } from '../helpers/images';
import { freePort } from '../helpers/net';
import { verifyWithPython } from '../helpers/verify';
import { until } from '../helpers/wait';

describe('capture: scrape formats, JavaScript rendering, screenshots', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startTestSite>>;
  before(async () => {
    site = await startTestSite();
    hs = await startTestHookshot({ SCRAPE_MAX_BYTES: String(1024 * 1024), SCRAPE_TIMEOUT_MS: '20000', BROWSER_CONCURRENCY: '2' });
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });
  const scrape = (path: string, qs = '') => hs.api(`/scrape?url=${encodeURIComponent(site.url + path)}${qs}`, { key: hs.keys.live });
  const shot = async (path: string, qs = '') => {
    const res = await fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${encodeURIComponent(site.url + path)}${qs}`);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, type: res.headers.get('content-type'), body };
  };

  it('markdown keeps headings, links, lists and tables; text has no tags or scripts', async () => {
    const md = (await scrape('/static', '&format=markdown')).body.result.content as string;
    assert.match(md, /^# Main Title$/m);
    assert.match(md, /^## List$/m);
    assert.match(md, /^-\s+first$/m);
    assert.match(md, new RegExp(`\\[relative link\\]\\(${site.url.replace(/[.]/g, '\\.')}/about\\)`));
    assert.match(md, /\|\s*Name\s*\|\s*Qty\s*\|/);
    assert.ok(!md.includes('script text') && !md.includes('color:red'));
    const text = (await scrape('/static', '&format=text')).body.result.content as string;
    assert.ok(text.includes('Main Title') && text.includes('apple'));
    assert.ok(!/[<>]/.test(text), text);
    assert.ok(!text.includes('script text') && !text.includes('color:red'));
  });

  it('json is parsed; raw keeps the page; a Latin-1 page comes back readable', async () => {
    const json = (await scrape('/json', '&format=json')).body.result;
    assert.deepEqual(json.content, { items: [1, 2, 3], ok: true });
    const notJson = (await scrape('/static', '&format=json')).body.result;
    assert.equal(notJson.error.code, 'ERR::SCRAPE::NOT_JSON');
    const raw = (await scrape('/static')).body.result.content;
    assert.ok(raw.includes('<h1>Main Title</h1>'));
    const latin = (await scrape('/latin1', '&format=text')).body.result.content;
    assert.match(latin, /café crème/);
    const redirected = (await scrape('/redirect')).body.result;
    assert.equal(redirected.url, `${site.url}/static`);
    const upstream = (await scrape('/status/503')).body.result;
    assert.equal(upstream.status_code, 503, 'upstream errors are results');
    assert.equal(upstream.content, 'maintenance');
  });

  it('JavaScript-made text appears only with render_js; wait_for_selector waits for it', async () => {
    const plain = (await scrape('/js', '&format=text')).body.result.content as string;
    assert.ok(!plain.includes('made by javascript'));
    const rendered = await scrape('/js', '&format=text&render_js=true');
    assert.equal(rendered.status, 200, JSON.stringify(rendered.body));
    assert.ok(rendered.body.result.content.includes('made by javascript'), rendered.body.result.content);
    const waited = (await scrape('/js', '&format=text&render_js=true&wait_for_selector=%23late')).body.result.content as string;
    assert.ok(waited.includes('late arrival'), waited);
    const bad = await scrape('/js', '&wait_for_selector=%23late');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /wait_for_selector: needs render_js=true/);
  });

  it('screenshots in png, jpg and webp at the asked resolution', async () => {
    for (const [format, type, magic] of [
      ['png', 'image/png', 'png'],
      ['jpg', 'image/jpeg', 'jpeg'],
      ['webp', 'image/webp', 'webp'],
    ] as const) {
      const r = await shot('/static', `&format=${format}&resolution=800x600`);
      assert.equal(r.status, 200, r.body.toString().slice(0, 300));
      assert.equal(r.type, type);
      const info = imageInfo(r.body);
      assert.equal(info.format, magic);
      assert.deepEqual([info.width, info.height], [800, 600], format);
    }
  });

  it('fullpage is taller than the viewport; a selector capture is sized to its element', async () => {
    const full = imageInfo((await shot('/tall', '&capture=fullpage&resolution=800x600')).body);
    assert.equal(full.width, 800);
    assert.ok(full.height >= 3000, `fullpage height ${full.height}`);
    const box = imageInfo((await shot('/box', `&capture=${encodeURIComponent('#box')}&resolution=800x600`)).body);
    assert.deepEqual([box.width, box.height], [300, 200]);
    const missing = await shot('/box', `&capture=${encodeURIComponent('#nope')}`);
    assert.equal(missing.status, 422);
    assert.equal(JSON.parse(missing.body.toString()).code, 'ERR::SCREENSHOT::SELECTOR_NOT_FOUND');
  });

  it('timeouts and the size cap end with their error codes', async () => {
    const slow = await scrape('/slow', '&timeout=1000');
    assert.equal(slow.body.result.error.code, 'ERR::SCRAPE::TIMEOUT');
    assert.equal(slow.body.result.error.retryable, true);
    const slowShot = await shot('/slow', '&timeout=1000');
    assert.equal(slowShot.status, 422, 'a target that does not answer in time is no fault of ours');
    const err = JSON.parse(slowShot.body.toString());
    assert.equal(err.code, 'ERR::SCREENSHOT::TIMEOUT');
    assert.equal(err.retryable, true);
    const huge = await scrape('/huge');
    assert.equal(huge.body.result.error.code, 'ERR::SCRAPE::TOO_LARGE');
    assert.equal(huge.body.result.error.retryable, false);
    const badRes = await shot('/static', '&resolution=10x10');
    assert.equal(badRes.status, 400);
    assert.match(JSON.parse(badRes.body.toString()).message, /^resolution: /);
  });

  it("a target that cannot be reached fails the browser capture with NETWORK (422), not a picture of the proxy's stand-in answer", async () => {
    const closed = await freePort();
    const wrong: string[] = [];
    // http:// goes through the proxy as a request, https:// as a tunnel: each fails its own way.
    for (const target of [`http://127.0.0.1:${closed}/`, `https://127.0.0.1:${closed}/`]) {
      const url = encodeURIComponent(target);
      const res = await fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${url}`);
      const body = Buffer.from(await res.arrayBuffer());
      const err = res.headers.get('content-type') === 'application/json' ? JSON.parse(body.toString()) : null;
      if (res.status !== 422 || err?.code !== 'ERR::SCREENSHOT::NETWORK' || err.retryable !== true || err.http_code !== 422)
        wrong.push(`screenshot ${target}: ${res.status} ${err ? JSON.stringify(err) : res.headers.get('content-type')}`);
      const rendered = (await hs.api(`/scrape?url=${url}&render_js=true&format=text`, { key: hs.keys.live })).body.result;
      if (rendered.success !== false || rendered.error?.code !== 'ERR::SCRAPE::NETWORK' || rendered.error.http_code !== 422)
        wrong.push(`render_js ${target}: ${JSON.stringify(rendered.error ?? { success: rendered.success, content: rendered.content })}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('the browser obeys the address guard for every request of the page', async () => {
    // 127.0.0.2 is loopback outside the allow-list (127.0.0.1/32): it must see nothing.
    let forbiddenHits = 0;
    const forbidden = http.createServer((_q, s) => (forbiddenHits++, s.end('x')));
    await new Promise<void>((r) => forbidden.listen(0, '127.0.0.2', () => r()));
    const target = `http://127.0.0.2:${(forbidden.address() as AddressInfo).port}`;
    try {
      const page = `/embed?target=${encodeURIComponent(target)}`;
      const embeds = await shot(page, '&rendering_wait=500');
      assert.equal(embeds.status, 200, 'the page itself renders');
      const rendered = await scrape(page, '&render_js=true&rendering_wait=500&format=text');
      assert.equal(rendered.status, 200);
      assert.match(rendered.body.result.content, /embeds/);
      const viaRedirect = await shot(`/to-forbidden?target=${encodeURIComponent(target)}`);
      assert.equal(viaRedirect.status, 422, 'a redirect into a refused range is refused');
      assert.equal(JSON.parse(viaRedirect.body.toString()).code, 'ERR::SCREENSHOT::ADDRESS_REFUSED');
      const direct = await fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${encodeURIComponent(`${target}/`)}`);
      assert.equal(direct.status, 422);
      assert.equal(((await direct.json()) as { code: string }).code, 'ERR::SCREENSHOT::ADDRESS_REFUSED');
      assert.equal(forbiddenHits, 0, 'no request of the browser reached the refused address');
    } finally {
      forbidden.closeAllConnections();
      await new Promise((r) => forbidden.close(r));
    }
  });

  it('a main frame sent to a refused address fails the capture, however it gets there; refused sub-resources and allowed navigations do not', async () => {
    // 127.0.0.2 is loopback outside the allow-list (127.0.0.1/32): it must see nothing.
    let forbiddenHits = 0;
    const forbidden = http.createServer((_q, s) => (forbiddenHits++, s.end('secret landing')));
    await new Promise<void>((r) => forbidden.listen(0, '127.0.0.2', () => r()));
    const fport = (forbidden.address() as AddressInfo).port;
    const landing = `http://127.0.0.2:${fport}/landing`;
    const tlsLanding = `https://127.0.0.2:${fport}/landing`;
    const go = (url: string) => `<script>location.href = ${JSON.stringify(url)};</script>`;
    // `refused`: the capture must fail naming that URL; `shows`: it must succeed with that text.
    const pages: Record<string, { body: string; refused?: string; shows?: string; qs?: string }> = {
      '/redirect': { body: '', refused: landing },
      '/script': { body: `<p>leaving</p>${go(landing)}`, refused: landing },
      '/meta-refresh': { body: `<meta http-equiv="refresh" content="0; url=${landing}"><p>leaving</p>`, refused: landing },
      '/later': {
        body: `<p>first</p><script>setTimeout(() => { location.href = ${JSON.stringify(landing)}; }, 100);</script>`,
        refused: landing,
        qs: '&rendering_wait=1500',
      },
      '/script-tls': { body: `<p>leaving</p>${go(tlsLanding)}`, refused: tlsLanding },
      '/subresources': {
        body: `<p>still here</p><img src="${landing}/a.png"><iframe src="${landing}"></iframe><iframe src="${tlsLanding}"></iframe>`,
        shows: 'still here',
      },
      '/meta-allowed': { body: '<meta http-equiv="refresh" content="0; url=/ok"><p>leaving</p>', shows: 'landed fine' },
      '/script-allowed': { body: `<p>leaving</p>${go('/ok')}`, shows: 'landed fine' },
      '/ok': { body: '<p>landed fine</p>' },
    };
    const nav = http.createServer((req, res) => {
      const page = pages[(req.url ?? '/').split('?')[0]!];
      if (!page) return void res.writeHead(404).end();
      if (page.body === '') return void res.writeHead(302, { location: page.refused }).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<html><body>${page.body}</body></html>`);
    });
    await new Promise<void>((r) => nav.listen(0, '127.0.0.1', () => r()));
    const origin = `http://127.0.0.1:${(nav.address() as AddressInfo).port}`;
    try {
      // Every page is tried before judging, so one run shows every way that went wrong.
      const wrong: string[] = [];
      for (const [path, page] of Object.entries(pages)) {
        if (!page.refused && !page.shows) continue;
        const url = encodeURIComponent(origin + path);
        const rendered = (await hs.api(`/scrape?url=${url}&render_js=true&format=raw${page.qs ?? ''}`, { key: hs.keys.live })).body.result;
        const res = await fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${url}${page.qs ?? ''}`);
        const body = Buffer.from(await res.arrayBuffer());
        const err = res.status === 422 ? (JSON.parse(body.toString()) as { code: string; message: string }) : null;
        if (page.refused) {
          if (
            rendered.success !== false ||
            rendered.error?.code !== 'ERR::SCRAPE::ADDRESS_REFUSED' ||
            !rendered.error.message.includes(page.refused)
          ) {
            wrong.push(`render_js ${path}: ${JSON.stringify(rendered.error ?? { success: rendered.success, url: rendered.url })}`);
          }
          if (err?.code !== 'ERR::SCREENSHOT::ADDRESS_REFUSED' || !err.message.includes(page.refused)) {
            wrong.push(`screenshot ${path}: ${res.status} ${err ? JSON.stringify(err) : res.headers.get('content-type')}`);
          }
        } else {
          if (rendered.success !== true || !String(rendered.content).includes(page.shows!)) {
            wrong.push(
              `render_js ${path}: ${JSON.stringify(rendered.error ?? { url: rendered.url, content: String(rendered.content).slice(0, 200) })}`,
            );
          }
          if (res.status !== 200 || imageInfo(body).format !== 'png')
            wrong.push(`screenshot ${path}: ${res.status} ${body.toString().slice(0, 200)}`);
        }
      }
      assert.deepEqual(wrong, []);
      assert.equal(forbiddenHits, 0, 'nothing reached the refused address');
    } finally {
      nav.closeAllConnections();
      forbidden.closeAllConnections();
      await Promise.all([new Promise((r) => nav.close(r)), new Promise((r) => forbidden.close(r))]);
    }
  });

  it('delivers a screenshot as signed image bytes to a webhook', async () => {
    const receiver = await startReceiver();
    try {
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'shots', url: receiver.url } });
      const r = await hs.api(`/screenshot?url=${encodeURIComponent(`${site.url}/box`)}&webhook_name=shots&resolution=640x480`, { key: hs.keys.live });
      assert.equal(r.status, 200);
      assert.equal(r.body.webhook_enqueued, true);
      await receiver.waitFor(1, 60_000);
      const got = receiver.received[0]!;
      assert.equal(got.headers['content-type'], 'image/png');
      assert.equal(got.headers['x-scrapfly-webhook-resource-type'], 'screenshot');
      assert.deepEqual([imageInfo(got.body).width, imageInfo(got.body).height], [640, 480]);
      assert.ok((await verifyWithPython(w.body.signing_secret, got.body, String(got.headers['x-scrapfly-webhook-signature']))).ok);
    } finally {
      await receiver.close();
    }
  });

  it('recovers when the browser process is killed mid-capture', async () => {
    await shot('/static'); // the browser runs
    // A page of its own, so a late request of an earlier capture (a favicon) cannot pass for this one.
    let asked = 0;
    const slow = http.createServer((_q, s) => (asked++, void setTimeout(() => s.end('<html><body>finally</body></html>'), 3000).unref()));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    try {
      const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
      const pending = fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${encodeURIComponent(slowUrl)}&timeout=15000`).then(async (res) => ({
        status: res.status,
        body: Buffer.from(await res.arrayBuffer()),
      }));
      // Chromium has asked for the page, which answers after 3 s: the capture is under way.
      await until(async () => (asked > 0 ? true : undefined), 15_000, 20);
      const browsers = execFileSync('pgrep', ['-P', String(process.pid)])
        .toString()
        .trim()
        .split('\n')
        .filter((pid) => {
          try {
            return /chrom/i.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
          } catch {
            return false;
          }
        });
      assert.ok(browsers.length >= 1, 'a Chromium child process runs');
      for (const pid of browsers) process.kill(Number(pid), 'SIGKILL');
      const r = await pending;
      assert.equal(r.status, 200, r.body.toString().slice(0, 300));
      assert.equal(imageInfo(r.body).format, 'png');
      const next = await shot('/static');
      assert.equal(next.status, 200);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });
});
