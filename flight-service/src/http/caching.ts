import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

/** `max-age` in whole seconds for a cache TTL: at least 1, so a browser or CDN can absorb a burst. */
export const maxAgeSeconds = (ttlMs: number): number => Math.max(1, Math.floor(ttlMs / 1000));

/** A strong validator: the SHA-1 of the exact bytes sent. */
export const strongEtag = (body: string | Buffer): string =>
  `"${createHash('sha1').update(body).digest('base64url')}"`;

/**
 * Whether `If-None-Match` names `tag` (RFC 9110 §13.1.2: `*`, or a list compared weakly). Evaluated here, not
 * with Express's req.fresh, which also says "not fresh" to a request carrying `Cache-Control: no-cache` (as
 * fetch adds to every conditional request): an origin answers 304 whenever the tag matches.
 */
export function noneMatch(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => opaque(t) === opaque(tag));
}

/**
 * HTTP caching for public reads: every `200` answer to a GET (or HEAD) that passes through gets
 * `Cache-Control: public, max-age=<s>` and a strong `ETag`; a request whose `If-None-Match` names the current
 * tag gets `304` with no body. Mount it in front of public read routes (`app.use('/api/v1', publicCaching(s))`
 * covers every GET under it, a route added later included), or per route: `router.get(path, publicCaching(s), handler)`.
 */
export function publicCaching(maxAge: number): RequestHandler {
  const cacheControl = `public, max-age=${maxAge}`;
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const send = res.send.bind(res) as (body?: unknown) => Response;
    res.send = ((body?: unknown) => {
      if (res.statusCode !== 200 || !(typeof body === 'string' || Buffer.isBuffer(body))) return send(body);
      res.setHeader('Cache-Control', cacheControl);
      const tag = strongEtag(body);
      res.setHeader('ETag', tag);
      if (!noneMatch(req.get('if-none-match'), tag)) return send(body);
      res.status(304);
      return send();
    }) as Response['send'];
    next();
  };
}
