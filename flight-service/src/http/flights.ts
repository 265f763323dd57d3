import { Router, type Request } from 'express';
import type { Sequelize } from 'sequelize';
import {
  badRequest,
  conflict,
  inTransaction,
  notFound,
  validate,
  withConnection,
  type FieldError,
} from '@skyway/common';
import type { Models } from '../db/models';
import { findFlightDetail } from '../db/flight-detail';
import { hasReservations } from '../db/reservations';
import {
  buildSearchQuery,
  countLikelyNeeded,
  countStatement,
  isoUtc,
  pageStatement,
  parseDay,
  parsePriceRange,
  parseSort,
  parseTrips,
  totalFromPage,
  type FlightSearch,
} from '../domain/search';
import { flightRuleErrors } from '../domain/rules';
import { refusingDanglingReferences } from './foreign-keys';
import { flightCreate, flightPatch, flightSearchQuery, idParam } from './schemas';

/** Validates the search query string into a FlightSearch; every bad parameter is named in one 400. */
export function toFlightSearch(query: unknown): FlightSearch {
  const q = validate(flightSearchQuery, query, 'query');
  const errors: FieldError[] = [];
  const search: FlightSearch = { sort: [], page: q.page, limit: q.limit, travellers: q.travellers };
  if (q.trips !== undefined) {
    const trip = parseTrips(q.trips);
    if (!trip) errors.push({ path: 'trips', message: 'must look like DEL-BOM' });
    else Object.assign(search, trip);
  }
  if (q.price !== undefined) {
    const range = parsePriceRange(q.price);
    if (!range)
      errors.push({ path: 'price', message: 'must look like 1000-5000, 1000- or -5000 (min ≤ max)' });
    else Object.assign(search, { minPrice: range.min, maxPrice: range.max });
  }
  if (q.tripDate !== undefined) {
    if (!parseDay(q.tripDate)) errors.push({ path: 'tripDate', message: 'must be a date YYYY-MM-DD' });
    else search.tripDate = q.tripDate;
  }
  if (q.sort !== undefined) {
    const sort = parseSort(q.sort);
    if (typeof sort === 'string') errors.push({ path: 'sort', message: sort });
    else search.sort = sort;
  }
  if (errors.length) throw badRequest('The query is invalid', errors);
  return search;
}

/** A row of `pageStatement`. */
interface PageRow {
  id: number;
  flightNumber: string;
  airplaneId: number;
  departureAirportCode: string;
  arrivalAirportCode: string;
  departureTimeUtc: string;
  arrivalTimeUtc: string;
  price: number | string;
  boardingGate: string | null;
  totalSeats: number;
  availableSeats: number;
}

const totalOf = (rows: unknown) => Number((rows as Array<{ total: number | string }>)[0].total);

/** A search row as the contract's flight, fields in the documented order. */
const toFlight = (r: PageRow) => ({
  id: r.id,
  flightNumber: r.flightNumber,
  airplaneId: r.airplaneId,
  departureAirportCode: r.departureAirportCode,
  arrivalAirportCode: r.arrivalAirportCode,
  departureTime: isoUtc(r.departureTimeUtc),
  arrivalTime: isoUtc(r.arrivalTimeUtc),
  price: Number(r.price),
  boardingGate: r.boardingGate,
  totalSeats: r.totalSeats,
  availableSeats: r.availableSeats,
});

export function flightRoutes(sequelize: Sequelize, models: Models): Router {
  const { Flight, Airplane, Airport } = models;
  const router = Router();

  const capacityOf = async (airplaneId: number): Promise<number> => {
    const airplane = await Airplane.findByPk(airplaneId);
    if (!airplane)
      throw badRequest('The body is invalid', [
        { path: 'airplaneId', message: `airplane ${airplaneId} does not exist` },
      ]);
    return airplane.capacity;
  };

  const assertAirportsExist = async (codes: Array<[string, string]>) => {
    const found = await Airport.findAll({ where: { code: codes.map(([, c]) => c) }, attributes: ['code'] });
    const known = new Set(found.map((a) => a.code));
    const errors = codes
      .filter(([, c]) => !known.has(c))
      .map(([path, c]) => ({ path, message: `airport ${c} does not exist` }));
    if (errors.length) throw badRequest('The body is invalid', errors);
  };

  const flightId = (req: Request) => validate(idParam, req.params, 'path').id;

  router.post('/api/v1/flights', async (req, res) => {
    const body = validate(flightCreate, req.body, 'body');
    const capacity = await capacityOf(body.airplaneId);
    await assertAirportsExist([
      ['departureAirportCode', body.departureAirportCode],
      ['arrivalAirportCode', body.arrivalAirportCode],
    ]);
    const totalSeats = body.totalSeats ?? capacity;
    const errors = flightRuleErrors({ ...body, totalSeats }, capacity);
    if (errors.length) throw badRequest('The flight breaks a rule', errors);
    // The airplane or an airport checked above may be deleted before the INSERT: its foreign key refuses it (409).
    const values = { ...body, totalSeats, availableSeats: totalSeats };
    const created = await refusingDanglingReferences({ noun: 'Flight', values }, () => Flight.create(values));
    res
      .status(201)
      .location(`/api/v1/flights/${created.id}`)
      .json(await Flight.findByPk(created.id));
  });

  router.get('/api/v1/flights', async (req, res) => {
    const search = toFlightSearch(req.query);
    const q = buildSearchQuery(search);
    // Plain SQL on one pooled connection, one round trip where possible: a search that pins a day usually fits
    // on one page, so its page goes first and is counted only if full; other searches send both at once.
    const { rows, total } = await withConnection(sequelize, async (run) => {
      const page = pageStatement(q);
      const count = countStatement(q);
      if (!countLikelyNeeded(search, q)) {
        const rows = (await run(page.sql, page.values)) as PageRow[];
        const known = totalFromPage(q, rows.length);
        if (known !== undefined) return { rows, total: known };
        return { rows, total: totalOf(await run(count.sql, count.values)) };
      }
      const [rows, counted] = (await run(`${page.sql}; ${count.sql}`, [...page.values, ...count.values])) as [
        PageRow[],
        unknown,
      ];
      return { rows, total: totalOf(counted) };
    });
    res.json({ data: rows.map(toFlight), page: q.offset / q.limit + 1, limit: q.limit, total });
  });

  router.get('/api/v1/flights/:id', async (req, res) => {
    const id = flightId(req);
    const flight = await findFlightDetail(sequelize, id);
    if (!flight) throw notFound(`Flight ${id} does not exist`);
    res.json(flight);
  });

  router.patch('/api/v1/flights/:id', async (req, res) => {
    const id = flightId(req);
    const changes = validate(flightPatch, req.body, 'body');
    if (changes.airplaneId !== undefined) await capacityOf(changes.airplaneId);
    const airportChanges = (['departureAirportCode', 'arrivalAirportCode'] as const)
      .filter((k) => changes[k] !== undefined)
      .map((k): [string, string] => [k, changes[k] as string]);
    if (airportChanges.length) await assertAirportsExist(airportChanges);
    await inTransaction(sequelize, async (transaction) => {
      // Seat counts change only while the flight row is locked.
      const flight = await Flight.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      if (!flight) throw notFound(`Flight ${id} does not exist`);
      const next = { ...flight.get({ plain: true }), ...changes };
      const capacity = await capacityOf(next.airplaneId);
      const errors = flightRuleErrors(next, capacity);
      if (errors.length) throw badRequest('The flight breaks a rule', errors);
      const held = flight.totalSeats - flight.availableSeats;
      if (next.totalSeats < held)
        throw conflict(`${held} seats are already held; totalSeats cannot go below that`);
      const values = { ...next, availableSeats: next.totalSeats - held };
      await refusingDanglingReferences({ noun: 'Flight', id, values }, () =>
        flight.update({ ...changes, availableSeats: values.availableSeats }, { transaction }),
      );
    });
    res.json(await Flight.findByPk(id));
  });

  router.delete('/api/v1/flights/:id', async (req, res) => {
    const id = flightId(req);
    await inTransaction(sequelize, async (transaction) => {
      const flight = await Flight.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      if (!flight) throw notFound(`Flight ${id} does not exist`);
      if (await hasReservations(sequelize, id, transaction)) {
        throw conflict(`Flight ${id} has seat reservations and cannot be deleted`);
      }
      await flight.destroy({ transaction });
    });
    res.status(204).end();
  });

  return router;
}
