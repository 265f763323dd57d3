import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { requestContext } from './logger';

const VALID_ID = /^[A-Za-z0-9._-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

/** Echoes a well-formed client X-Request-Id or makes one, and runs the request inside its context. */
export const requestId: RequestHandler = (req, res, next) => {
  const sent = req.get(REQUEST_ID_HEADER);
  const id = sent && VALID_ID.test(sent) ? sent : randomUUID();
  req.headers[REQUEST_ID_HEADER] = id;
  res.setHeader('X-Request-Id', id);
  requestContext.run({ requestId: id }, next);
};
