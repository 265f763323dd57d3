import { Router } from 'express';
import { checkServices, type ServiceProbes } from '../app/service-health';

/** `GET /api/v1/health`: every service's readiness; 200 only when all are ready, else 503. */
export function serviceHealthRoute(probes: ServiceProbes): Router {
  const router = Router();
  router.get('/api/v1/health', async (_req, res) => {
    const { ok, services } = await checkServices(probes);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', services });
  });
  return router;
}
