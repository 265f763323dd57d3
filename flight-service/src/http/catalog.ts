import { Router } from 'express';
import type { Model, ModelStatic } from 'sequelize';
import type { z } from 'zod';
import { conflict, notFound, validate } from '@skyway/common';
import { idParam, pagination } from './schemas';

/** A catalog resource with the same five routes: create, list, get, patch, delete. */
export interface CrudSpec<M extends Model, C extends z.ZodType, P extends z.ZodType> {
  path: string;
  noun: string;
  model: ModelStatic<M>;
  create: C;
  patch: P;
  /** Checks a new or changed record against other tables (throws a problem); `current` is set on patch. */
  check?: (next: z.infer<C>, current?: M) => Promise<void>;
  /** What a record may still be referenced by, for the 409 on delete. */
  referencedBy: string;
}

const isUniqueViolation = (err: unknown) =>
  (err as { name?: string }).name === 'SequelizeUniqueConstraintError';
const isReferenced = (err: unknown) =>
  (err as { name?: string }).name === 'SequelizeForeignKeyConstraintError';

export function crudRoutes<M extends Model, C extends z.ZodType, P extends z.ZodType>(
  spec: CrudSpec<M, C, P>,
): Router {
  const router = Router();
  const { path, noun, model } = spec;

  const load = async (rawId: unknown): Promise<M> => {
    const { id } = validate(idParam, { id: rawId }, 'path');
    const found = await model.findByPk(id);
    if (!found) throw notFound(`${noun} ${id} does not exist`);
    return found;
  };

  const saving = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A ${noun.toLowerCase()} with these values already exists`);
      throw err;
    }
  };

  router.post(path, async (req, res) => {
    const body = validate(spec.create, req.body, 'body');
    await spec.check?.(body);
    const created = await saving(() => model.create(body as M['_creationAttributes']));
    res.status(201).json(await model.findByPk(created.get('id') as number));
  });

  router.get(path, async (req, res) => {
    const { page, limit } = validate(pagination, req.query, 'query');
    const { rows, count } = await model.findAndCountAll({
      order: [['id', 'ASC']],
      limit,
      offset: (page - 1) * limit,
    });
    res.json({ data: rows, page, limit, total: count });
  });

  router.get(`${path}/:id`, async (req, res) => {
    res.json(await load(req.params.id));
  });

  router.patch(`${path}/:id`, async (req, res) => {
    const current = await load(req.params.id);
    const changes = validate(spec.patch, req.body, 'body') as Record<string, unknown>;
    const next = { ...(current.get({ plain: true }) as object), ...changes } as z.infer<C>;
    await spec.check?.(next, current);
    await saving(() => current.update(changes as Partial<M['_attributes']>));
    res.json(await model.findByPk(current.get('id') as number));
  });

  router.delete(`${path}/:id`, async (req, res) => {
    const current = await load(req.params.id);
    try {
      await current.destroy();
    } catch (err) {
      if (isReferenced(err)) {
        throw conflict(`${noun} ${current.get('id')} is still referenced by ${spec.referencedBy}`);
      }
      throw err;
    }
    res.status(204).end();
  });

  return router;
}
