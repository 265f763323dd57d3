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

  router.get('/api/v1/flights', async (req, res) => {
    res.json(await flights.search(toFlightSearch(req.query)));
  });

  router.get('/api/v1/flights/:id', async (req, res) => {
    res.json(await flights.get(flightId(req)));
  });

  router.get('/api/v1/flights/:id/seats', async (req, res) => {
    res.json(await flights.seatMap(flightId(req)));
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
