/** The digest email's text (pure): one entry per notification, oldest first. */
export interface DigestItem {
  notification_id: string;
  type: string;
  title: string;
  message: string;
  created_at: string;
}

export interface DigestEmail {
  subject: string;
  text: string;
  html: string;
}

const SETTINGS_URL = 'https://laundryconnect.com/settings/notifications';

function escapeHtml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": '#39', '"': 'quot' }[c]};`,
  );
}

export function renderDigestEmail(firstName: string | null, items: readonly DigestItem[]): DigestEmail {
  const hello = `Hi ${firstName ?? 'there'},`;
  const intro = `Here ${items.length === 1 ? 'is your update' : `are your ${items.length} updates`} from LaundryConnect:`;
  const footer = `You are receiving this digest because you have a LaundryConnect account. Manage your notifications: ${SETTINGS_URL}`;
  const text = [
    hello,
    '',
    intro,
    '',
    ...items.map((i) => `- ${i.title}\n  ${i.message}`),
    '',
    'Thanks,',
    'Team LaundryConnect',
    '',
    '--',
    footer,
  ].join('\n');
  const html = [
    '<div style="font-family:Arial,Helvetica,sans-serif;max-width:560px;margin:0 auto;padding:24px;color:#1f2937;line-height:1.5">',
    '<h1 style="margin:0 0 16px;font-size:20px;color:#0f766e">LaundryConnect</h1>',
    `<p>${escapeHtml(hello)}</p>`,
    `<p>${escapeHtml(intro)}</p>`,
    '<ul>',
    ...items.map((i) => `<li><strong>${escapeHtml(i.title)}</strong><br>${escapeHtml(i.message)}</li>`),
    '</ul>',
    '<p>Thanks,<br>Team LaundryConnect</p>',
    `<p style="margin-top:24px;font-size:12px;color:#6b7280">${escapeHtml(footer)}</p>`,
    '</div>',
  ].join('\n');
  return { subject: `Your LaundryConnect updates (${items.length})`, text, html };
}
