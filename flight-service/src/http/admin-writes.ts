import type { RequestHandler } from 'express';
import { forbidden, identityOf, unauthorized } from '@skyway/common';

/** The catalog is read by anyone; changing it needs X-User-Role admin (403 otherwise, 401 without identity). */
export const adminForWrites: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  const who = identityOf(req);
  if (!who) return next(unauthorized('A signed-in user is required'));
  if (who.role !== 'admin') return next(forbidden('Only an admin may change the catalog'));
  next();
};
