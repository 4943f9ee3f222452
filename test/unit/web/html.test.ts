import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, type Html } from '../../../src/web/html';

describe('html templates', () => {
  it('escape every interpolated value, attributes included', () => {
    const evil = `<script>alert("x")</script>' onmouseover='y' \`z\` &amp;`;
    const out = html`<p title="${evil}">${evil}</p>`.value;
    assert.ok(!out.includes('<script>'));
    assert.ok(!out.includes(`"x"`));
    assert.equal(out, `<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
    assert.equal(escapeHtml(`&<>"'\``), '&amp;&lt;&gt;&quot;&#39;&#96;');
  });

  it('insert nested templates and arrays of them as markup, and drop null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    assert.equal(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value, '<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
  });

  it('treat a string that looks like markup as text: only Html made by the template passes', () => {
    const fake = { value: '<b>x</b>', toString: () => '<b>x</b>' } as unknown as Html;
    assert.equal(html`${fake}`.value, '&lt;b&gt;x&lt;/b&gt;');
  });
});
