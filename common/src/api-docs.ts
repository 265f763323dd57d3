import fs from 'node:fs';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import YAML from 'yaml';

/** Serves an OpenAPI YAML document: the UI at `/api-docs`, the raw document at `/api-docs/openapi.json`. */
export function apiDocsRoutes(yamlPath: string): Router {
  const doc = YAML.parse(fs.readFileSync(yamlPath, 'utf8')) as Record<string, unknown>;
  const router = Router();
  router.get('/api-docs/openapi.json', (_req, res) => {
    res.json(doc);
  });
  router.use('/api-docs', swaggerUi.serve, swaggerUi.setup(doc));
  return router;
}
