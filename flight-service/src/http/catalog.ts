import { Router } from 'express';
import type { Model, ModelStatic } from 'sequelize';
import type { z } from 'zod';
import { conflict, notFound, validate } from '@skyway/common';
import { foreignKeyConflict, refusingDanglingReferences } from './foreign-keys';
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
  /** What a record may still be referenced by, for the 409 on delete (when MySQL's message does not say). */
  referencedBy: string;
}

const isUniqueViolation = (err: unknown) =>
  (err as { name?: string }).name === 'SequelizeUniqueConstraintError';

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

  /**
   * Runs a create or change. `check` has seen what it refers to, but a concurrent delete may remove that before
   * the write reaches MySQL: its foreign-key refusal is a 409 naming the missing resource, like a taken value.
   */
  const saving = async <T>(write: { id?: unknown; values: object }, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A ${noun.toLowerCase()} with these values already exists`);
      const values = write.values as Record<string, unknown>;
      throw foreignKeyConflict(err, { noun, id: write.id, values, referencedBy: spec.referencedBy }) ?? err;
    }
  };

  router.post(path, async (req, res) => {
    const body = validate(spec.create, req.body, 'body');
    await spec.check?.(body);
    const created = await saving({ values: body as object }, () =>
      model.create(body as M['_creationAttributes']),
    );
    const id = created.get('id') as number;
    res
      .status(201)
      .location(`${path}/${id}`)
      .json(await model.findByPk(id));
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
    await saving({ id: current.get('id'), values: next as object }, () =>
      current.update(changes as Partial<M['_attributes']>),
    );
    res.json(await model.findByPk(current.get('id') as number));
  });

  router.delete(`${path}/:id`, async (req, res) => {
    const current = await load(req.params.id);
    // No pre-check of the referrers: the foreign keys decide, so a reference added meanwhile still counts.
    await refusingDanglingReferences({ noun, id: current.get('id'), referencedBy: spec.referencedBy }, () =>
      current.destroy(),
    );
    res.status(204).end();
  });

  return router;
}
