import type { RequestHandler, Response } from 'express';

/** Answers that depend on who asks: never stored by a browser or a shared cache (RFC 9111 §5.2.2.3, §5.2.2.7). */
export const PRIVATE_NO_STORE = 'private, no-store';

/** The response headers an upstream answer gets replaced with, whatever the upstream said (see proxyTo). */
export interface ForcedHeaders {
  set: Record<string, string>;
  remove: string[];
}

export const forcedHeadersOf = (res: Response): ForcedHeaders | undefined =>
  res.locals.forcedHeaders as ForcedHeaders | undefined;

/**
 * Per-user routes (bookings, payments, the caller's account, sign-in and sign-up): `Cache-Control: private,
 * no-store` on every answer, the gateway's own and proxied ones alike, and no validators, so no cache ever
 * holds or revalidates one. Conditional request headers are dropped so an upstream never answers 304.
 */
export const privateNoStore: RequestHandler = (req, res, next) => {
  delete req.headers['if-none-match'];
  delete req.headers['if-modified-since'];
  res.setHeader('Cache-Control', PRIVATE_NO_STORE);
  res.locals.forcedHeaders = {
    set: { 'cache-control': PRIVATE_NO_STORE },
    remove: ['etag', 'last-modified', 'expires'],
  } satisfies ForcedHeaders;
  next();
};
