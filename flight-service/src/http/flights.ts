import { Router, type Request } from 'express';
import { validate } from '@skyway/common';
import type { FlightUseCases } from '../app/flights';
import { normaliseSearch, type FlightSearch } from '../domain/search';
import { problemFor } from './problems';
import { flightCreate, flightPatch, flightSearchQuery, idParam } from './schemas';

/** Validates the search query string into a FlightSearch; every bad parameter is named in one 400. */
export function toFlightSearch(query: unknown): FlightSearch {
  const normalised = normaliseSearch(validate(flightSearchQuery, query, 'query'));
  if (!normalised.ok) throw problemFor(normalised.refusal);
  return normalised.value;
}

export function flightRoutes(flights: FlightUseCases): Router {
  const router = Router();
  const flightId = (req: Request) => validate(idParam, req.params, 'path').id;

  router.post('/api/v1/flights', async (req, res) => {
    const { id, flight } = await flights.create(validate(flightCreate, req.body, 'body'));
    res.status(201).location(`/api/v1/flights/${id}`).json(flight);
  });

  // Both reads come as JSON text (from the cache or serialised once for it).
  router.get('/api/v1/flights', async (req, res) => {
    res.type('json').send(await flights.search(toFlightSearch(req.query)));
  });

  // `Cache-Control: no-cache` (RFC 9111 §5.2.1.4) asks for the flight as it is now, past the search cache.
  router.get('/api/v1/flights/:id', async (req, res) => {
    const fresh = /(^|,)\s*(no-cache|max-age=0)\s*(,|$)/i.test(req.get('cache-control') ?? '');
    res.type('json').send(await flights.get(flightId(req), { fresh }));
  });

  router.get('/api/v1/flights/:id/seats', async (req, res) => {
    res.type('json').send(await flights.seatMap(flightId(req)));
  });

  router.patch('/api/v1/flights/:id', async (req, res) => {
    const id = flightId(req);
    res.json(await flights.change(id, validate(flightPatch, req.body, 'body')));
  });

  router.delete('/api/v1/flights/:id', async (req, res) => {
    await flights.remove(flightId(req));
    res.status(204).end();
  });

  return router;
}
