/**
 * A browser's part in the console's HTTP exchanges, by hand: cookies kept per name, forms posted
 * url-encoded, redirects not followed (the tests read them). Every response body and header is
 * kept, so a test can assert that no secret ever came back.
 */
export class ConsoleClient {
  readonly base: string;
  readonly cookies = new Map<string, string>();
  /** Each response's Set-Cookie lines, in order. */
  readonly setCookies: string[] = [];
  readonly seen: string[] = [];

  constructor(base: string) {
    this.base = base;
  }

  async request(
    method: string,
    path: string,
    form?: Record<string, string>,
  ): Promise<Response & { text: string }> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(this.base + path, {
      method,
      headers,
      redirect: 'manual',
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    this.seen.push(JSON.stringify([...res.headers]), text);
    return Object.assign(res, { text });
  }

  /** The sign-in page's CSRF token (the page sets the secret cookie it pairs with). */
  async csrfFrom(path: string): Promise<string> {
    const res = await this.request('GET', path);
    const m = /name="_csrf" value="([^"]+)"/.exec(res.text);
    if (!m) throw new Error(`no CSRF token on ${path} (${res.status}): ${res.text.slice(0, 300)}`);
    return m[1]!;
  }

  async signIn(key: string): Promise<Response & { text: string }> {
    const token = await this.csrfFrom('/console/sign-in');
    return this.request('POST', '/console/sign-in', { _csrf: token, key });
  }

  /** The Set-Cookie line that set `name` last. */
  cookieLine(name: string): string | undefined {
    return this.setCookies.findLast((l) => l.startsWith(`${name}=`));
  }
}
