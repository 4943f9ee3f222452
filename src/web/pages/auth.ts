import { html, type Html } from '../html';
import { page } from '../layout';
import type { ErrorBody } from '../../errors';

export function loginPage(o: { next: string; csrf: string; error?: string | null }): Html {
  return page({
    title: 'Sign in',
    flash: o.error ? { kind: 'error', text: o.error } : null,
    body: html`<h1>Sign in</h1>
<p>Use an API key. You will see the webhooks, jobs and crawls of that key's project and environment only.</p>
<form method="post" action="/dashboard/login" class="stack">
  <input type="hidden" name="next" value="${o.next}">
  <input type="hidden" name="_csrf" value="${o.csrf}">
  <label for="key">API key <span class="hint">as printed at first start, or made with POST /admin/projects/:name/keys</span></label>
  <input id="key" name="key" type="password" autocomplete="off" required>
  <div><button type="submit" class="primary">Sign in</button></div>
</form>`,
  });
}

/** Any error on a dashboard path, as a page (the message is escaped like everything else). */
export function errorPage(body: ErrorBody): Html {
  const title =
    body.http_code === 404 ? 'Not found' : body.http_code === 403 ? 'Forbidden' : body.http_code >= 500 ? 'Something went wrong' : 'Request refused';
  return page({
    title,
    body: html`<h1>${title}</h1>
<p>${body.message}</p>
<p class="muted">Code <code>${body.code}</code> · error id <code>${body.error_id}</code></p>
<p><a href="/dashboard">Back to the dashboard</a></p>`,
  });
}
