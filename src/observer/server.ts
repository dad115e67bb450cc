/**
 * The observer's HTTP surface (`node:http`): the page, its script, the JSON API and the event stream.
 *
 * Read-only: only GET and HEAD are served; any other method gets 405 and changes nothing. Every answer
 * is `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`; the page's Content-Security-Policy
 * allows only its own script and connections. With a token, a request without it gets 401. Bound to
 * loopback without a token, a request whose `Host` header is not a loopback name gets 403, so a web
 * page cannot read the observer by rebinding its own domain name to 127.0.0.1.
 *
 * @module
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kPageHtml, kPageJs } from './page.js';

/** What the routes read from the observer. */
export interface ObserverData {
  schedulers(): unknown;
  registries(): unknown;
  /** Answers `/api/actors` (a message for a 400, or the body). */
  actors(params: URLSearchParams): Promise<{ error: string } | { body: unknown }>;
  timeline(since: number, limit: number): unknown;
  supervisors(): unknown;
  topics(): unknown;
  health(): { ok: boolean; reasons: string[] };
  /** Adds an event-stream client; returns the function that removes it. */
  subscribe(res: ServerResponse): () => void;
}

/** The endpoints, for the 404 answer and the docs. */
export const kEndpoints = [
  '/', '/api/schedulers', '/api/registries', '/api/actors', '/api/timeline', '/api/supervisors', '/api/topics', '/events', '/healthz',
] as const;

const kLoopbackHosts = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

function send(res: ServerResponse, status: number, body: unknown, head: boolean, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(head ? undefined : text);
}

function sendText(res: ServerResponse, type: string, text: string, head: boolean, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': type, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(head ? undefined : text);
}

/** Query parameters other than `allowed` (and `token`): a message for the 400 answer, or null. */
function unknownParams(params: URLSearchParams, allowed: readonly string[]): string | null {
  for (const k of params.keys()) {
    if (k !== 'token' && !allowed.includes(k)) {
      return `unknown parameter ${JSON.stringify(k)}` + (allowed.length > 0 ? `; expected ${allowed.join(' or ')}` : '; this endpoint takes none');
    }
  }
  return null;
}

/** A non-negative integer parameter: its value, `dflt` when absent, or a message. */
function intParam(params: URLSearchParams, name: string, dflt: number, max: number): number | string {
  const v = params.get(name);
  if (v === null) return dflt;
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) > max) return `${name} must be an integer from 0 to ${max}; got ${JSON.stringify(v)}`;
  return Number(v);
}

/** The request handler. `token` null: no token asked; `loopback`: check `Host` against DNS rebinding. */
export function handler(data: ObserverData, token: string | null, loopback: boolean): (req: IncomingMessage, res: ServerResponse) => void {
  const digest = token === null ? null : createHash('sha256').update(token).digest();
  const authorized = (req: IncomingMessage, params: URLSearchParams): boolean => {
    if (digest === null) return true;
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : params.get('token');
    // Compared as digests: equal lengths, and no timing signal about the token.
    return given !== null && timingSafeEqual(createHash('sha256').update(given).digest(), digest);
  };
  const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [k, v] of Object.entries(common)) res.setHeader(k, v);
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://observer');
    } catch {
      return send(res, 400, { error: 'malformed request target' }, head);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      // Read-only: nothing in a request can change the system.
      req.resume();
      return send(res, 405, { error: `method ${method} not allowed: the observer is read-only (GET and HEAD only)` }, false, { allow: 'GET, HEAD' });
    }
    if (loopback && digest === null && !kLoopbackHosts.test(req.headers.host ?? '')) {
      return send(res, 403, { error: 'the Host header must name a loopback address (127.0.0.1, localhost or [::1])' }, head);
    }
    const params = url.searchParams;
    // The page's script is static (it is in the package) and carries no data: served without the
    // token, which a <script> request could not carry.
    if (url.pathname === '/page.js') {
      const m = unknownParams(params, []);
      if (m !== null) return send(res, 400, { error: m }, head);
      return sendText(res, 'text/javascript; charset=utf-8', kPageJs, head);
    }
    if (!authorized(req, params)) {
      return send(res, 401, { error: 'a token is required: Authorization: Bearer <token>, or ?token=<token>' }, head, { 'www-authenticate': 'Bearer' });
    }
    const bad = (allowed: readonly string[]): boolean => {
      const m = unknownParams(params, allowed);
      if (m !== null) send(res, 400, { error: m }, head);
      return m !== null;
    };
    switch (url.pathname) {
      case '/':
      case '/index.html':
        if (bad([])) return;
        return sendText(res, 'text/html; charset=utf-8', kPageHtml, head, {
          'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
        });
      case '/api/schedulers':
        if (bad([])) return;
        return send(res, 200, data.schedulers(), head);
      case '/api/registries':
        if (bad([])) return;
        return send(res, 200, data.registries(), head);
      case '/api/supervisors':
        if (bad([])) return;
        return send(res, 200, data.supervisors(), head);
      case '/api/topics':
        if (bad([])) return;
        return send(res, 200, data.topics(), head);
      case '/api/timeline': {
        if (bad(['since', 'limit'])) return;
        const since = intParam(params, 'since', 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(params, 'limit', 1000, 1000);
        if (typeof since === 'string' || typeof limit === 'string') return send(res, 400, { error: typeof since === 'string' ? since : limit }, head);
        if (limit === 0) return send(res, 400, { error: 'limit must be an integer from 1 to 1000; got "0"' }, head);
        return send(res, 200, data.timeline(since, limit), head);
      }
      case '/api/actors':
        void data.actors(params).then(
          (r) => ('error' in r ? send(res, 400, { error: r.error }, head) : send(res, 200, r.body, head)),
          (err: unknown) => failed(res, err),
        );
        return;
      case '/healthz': {
        if (bad([])) return;
        const h = data.health();
        return send(res, h.ok ? 200 : 503, { status: h.ok ? 'ok' : 'unhealthy', reasons: h.reasons }, head);
      }
      case '/events': {
        if (bad([])) return;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        if (head) return void res.end();
        res.write('retry: 1000\n\n');
        const remove = data.subscribe(res);
        req.on('close', remove);
        return;
      }
      default:
        return send(res, 404, { error: `no such endpoint ${JSON.stringify(url.pathname)}`, endpoints: kEndpoints }, head);
    }
  };
  // The observer must never take the observed process down: a failure answers 500.
  const failed = (res: ServerResponse, err: unknown): void => {
    if (res.headersSent) return void res.destroy();
    send(res, 500, { error: `the observer failed: ${err instanceof Error ? err.message : String(err)}` }, false);
  };
  return (req, res) => {
    try {
      serve(req, res);
    } catch (err) {
      failed(res, err);
    }
  };
}
