import type { DashboardSession } from '../db/rows';
import { html, type Html } from './html';

export interface PageOptions {
  title: string;
  /** Signed in: the navigation, the scope and the sign-out form. */
  session?: DashboardSession | null;
  /** Which navigation entry is current. */
  section?: 'webhooks' | 'notifications' | 'crawls' | null;
  /** A one-line message at the top (after a form did something). */
  flash?: { kind: 'ok' | 'error'; text: string } | null;
  body: Html;
}

const NAV: Array<{ id: NonNullable<PageOptions['section']>; href: string; label: string }> = [
  { id: 'webhooks', href: '/dashboard', label: 'Webhooks' },
  { id: 'notifications', href: '/dashboard/notifications', label: 'Notifications' },
  { id: 'crawls', href: '/dashboard/crawls', label: 'Crawls' },
];

/** A whole page: one stylesheet of ours, no script, a skip link and landmarks. */
export function page(o: PageOptions): Html {
  const s = o.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Hookshot</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/dashboard">Hookshot</a>
  ${
    s
      ? html`<nav aria-label="Main"><ul>${NAV.map(
          (n) => html`<li><a href="${n.href}"${o.section === n.id ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
        )}</ul></nav>
  <div class="scope"><span title="project and environment of your key">${s.project.name} · <span class="env env-${s.env}">${s.env}</span></span>
    ${postButton('/dashboard/logout', s, 'Sign out', 'link')}</div>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${o.flash ? html`<p class="flash flash-${o.flash.kind}" role="status">${o.flash.text}</p>` : ''}
${o.body}
</main>
</body>
</html>
`;
}

/** A form that is only a button (every state change is a POST with the CSRF token). */
export function postButton(
  action: string,
  session: DashboardSession,
  label: string,
  style: 'button' | 'link' | 'danger' = 'button',
  fields: Record<string, string> = {},
): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(session)}${Object.entries(fields).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit" class="${style}">${label}</button></form>`;
}

export const csrfField = (session: DashboardSession): Html => html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;

/** Time as UTC ISO, machine-readable too. */
export const time = (d: Date | string | null | undefined): Html => {
  if (!d) return html`<span class="muted">—</span>`;
  const iso = new Date(d).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
};
