// Real Chromium for the dashboard tests (playwright-core driving Debian's
// chromium): sign in as a person would, check accessibility with axe-core,
// and keep a screenshot of every page under test/artifacts/screenshots/
// (git-ignored) for people to look at.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../../src/repoRoot';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const SCREENSHOTS = path.join(repoRoot(), 'test', 'artifacts', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ARGS });
}

/** A fresh browser context (its own cookies) at a desktop or a phone width. */
export async function newPage(browser: Browser, width: 'desktop' | 'phone' = 'desktop'): Promise<Page> {
  const context = await browser.newContext({ viewport: width === 'desktop' ? { width: 1280, height: 900 } : { width: 390, height: 844 } });
  return context.newPage();
}

/** Signs in through the login form; lands on `next` (default the webhooks list). */
export async function signIn(page: Page, apiUrl: string, key: string, next = '/dashboard'): Promise<void> {
  await page.goto(`${apiUrl}/dashboard/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('API key').fill(key);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/dashboard/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
}

let axeSource: string | null = null;

/**
 * axe-core's serious and critical violations on the page. The script is
 * evaluated through the DevTools protocol, which the page's CSP (no scripts
 * at all) does not govern, so the page is checked as it is served.
 */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; help: string; nodes: string[] }>> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource}\n;0`);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Writes test/artifacts/screenshots/<name>.png (full page). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
