import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAge, formatCount, formatMoney, formatRate } from '../../src/console/format.ts';
import { escapeHtml, Html, html } from '../../src/http/html.ts';

test('figures are written one way: counts, rates, money, ages', () => {
  const cases: Array<[string, string]> = [
    [formatCount(0), '0'],
    [formatCount(1234567), '1,234,567'],
    [formatRate(null), '—'],
    [formatRate(1), '100.0 %'],
    [formatRate(0.8333), '83.3 %'],
    [formatMoney(null, 'USD'), '—'],
    [formatMoney(0, null), '0.00'],
    [formatMoney(0.0075, 'USD'), '0.0075 USD'],
    [formatMoney(12.34567, 'INR'), '12.34567 INR'],
    [formatAge(null), '—'],
    [formatAge(999), '0 s'],
    [formatAge(59_999), '59 s'],
    [formatAge(200_000), '3 min 20 s'],
    [formatAge(7_500_000), '2 h 5 min'],
    [formatAge(3 * 86_400_000 + 3_600_000), '3 d 1 h'],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('html escapes every interpolated value but its own fragments', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  const inner = html`<b>${'<i>'}</b>`;
  assert.ok(inner instanceof Html);
  assert.equal(
    html`<p>${inner}${[1, ' & ', 2]}${null}${undefined}${false}</p>`.value,
    '<p><b>&lt;i&gt;</b>1 &amp; 2</p>',
  );
  assert.equal(html`<p title="${'"onmouseover="x'}"></p>`.value, '<p title="&quot;onmouseover=&quot;x"></p>');
});
