import { Router } from 'express';
import type { z } from 'zod';
import { validate } from '@skyway/common';
import type { CatalogUseCases } from '../app/catalog';
import { idParam, pagination } from './schemas';

/** A catalog resource with the same five routes: create, list, get, patch, delete. */
export interface CrudSpec<R extends { id: number }> {
  path: string;
  resource: CatalogUseCases<R>;
  create: z.ZodType<Omit<R, 'id'>, unknown>;
  patch: z.ZodType<Partial<Omit<R, 'id'>>, unknown>;
}

export function crudRoutes<R extends { id: number }>({ path, resource, create, patch }: CrudSpec<R>): Router {
  const router = Router();
  const idOf = (rawId: unknown) => validate(idParam, { id: rawId }, 'path').id;

  router.post(path, async (req, res) => {
    const { id, row } = await resource.create(validate(create, req.body, 'body'));
    res.status(201).location(`${path}/${id}`).json(row);
  });

  router.get(path, async (req, res) => {
    const { page, limit } = validate(pagination, req.query, 'query');
    const { rows, total } = await resource.list(page, limit);
    res.json({ data: rows, page, limit, total });
  });

  router.get(`${path}/:id`, async (req, res) => {
    res.json(await resource.get(idOf(req.params.id)));
  });

  router.patch(`${path}/:id`, async (req, res) => {
    res.json(await resource.change(idOf(req.params.id), () => validate(patch, req.body, 'body')));
  });

  router.delete(`${path}/:id`, async (req, res) => {
    await resource.remove(idOf(req.params.id));
    res.status(204).end();
  });

  return router;
}
