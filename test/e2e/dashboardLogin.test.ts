// The sign-in page in Chromium: labelled, keyboard-usable, no serious
// accessibility violation; a wrong key says so; a right one lands on the
// page asked for.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { axeViolations, launchChromium, newPage, screenshot, signIn } from '../helpers/chromium';

describe('dashboard sign-in in Chromium', () => {
  let hs: TestHookshot;
  let browser: Browser;
  before(async () => {
    hs = await startTestHookshot();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await hs?.close();
  });

  it('signs in with the keyboard alone, and refuses a wrong key with a message', async () => {
    const page = await newPage(browser);
    await page.goto(`${hs.apiUrl}/dashboard`);
    assert.match(page.url(), /\/dashboard\/login\?next=%2Fdashboard$/);
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'login');
    // Tab to the field (past the skip link and the brand link), type, Enter.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'key');
    await page.keyboard.type('wrong-key-123456789012345');
    await page.keyboard.press('Enter');
    await page.waitForLoadState();
    assert.match(await page.locator('.flash-error').innerText(), /not valid/);
    await signIn(page, hs.apiUrl, hs.keys.live);
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.match(await page.locator('.scope').innerText(), /default · live/);
    await screenshot(page, 'after-sign-in');
    const phone = await newPage(browser, 'phone');
    await signIn(phone, hs.apiUrl, hs.keys.test);
    assert.deepEqual(await axeViolations(phone), []);
    await screenshot(phone, 'after-sign-in-phone');
  });
});
