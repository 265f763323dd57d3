import { Router, type Request } from 'express';
import { QueryTypes, type Sequelize } from 'sequelize';
import { badRequest, conflict, inTransaction, notFound, validate, type FieldError } from '@skyway/common';
import type { Models } from '../db/models';
import { findFlightDetail } from '../db/flight-detail';
import { hasReservations } from '../db/reservations';
import {
  buildSearchQuery,
  parseDay,
  parsePriceRange,
  parseSort,
  parseTrips,
  type FlightSearch,
} from '../domain/search';
import { flightRuleErrors } from '../domain/rules';
import { flightCreate, flightPatch, flightSearchQuery, idParam } from './schemas';

const FLIGHT_COLUMNS =
  'id, flightNumber, airplaneId, departureAirportCode, arrivalAirportCode, departureTime, arrivalTime, price, boardingGate, totalSeats, availableSeats';

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

interface FlightRow {
  price: number | string;
  [key: string]: unknown;
}

const plainFlight = (row: FlightRow) => ({ ...row, price: Number(row.price) });

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
    const created = await Flight.create({ ...body, totalSeats, availableSeats: totalSeats });
    res.status(201).json(await Flight.findByPk(created.id));
  });

  router.get('/api/v1/flights', async (req, res) => {
    const q = buildSearchQuery(toFlightSearch(req.query));
    const [rows, [{ total }]] = await Promise.all([
      // Deferred join: the inner query pages through a covering index; only the page's rows are read.
      sequelize.query<FlightRow>(
        `SELECT ${FLIGHT_COLUMNS} FROM flights JOIN (SELECT id FROM flights WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?) page USING (id) ORDER BY ${q.orderBy}`,
        { replacements: [...q.params, q.limit, q.offset], type: QueryTypes.SELECT },
      ),
      sequelize.query<{ total: number }>(`SELECT COUNT(*) AS total FROM flights WHERE ${q.where}`, {
        replacements: q.params,
        type: QueryTypes.SELECT,
      }),
    ]);
    res.json({
      data: rows.map(plainFlight),
      page: q.offset / q.limit + 1,
      limit: q.limit,
      total: Number(total),
    });
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
      await flight.update({ ...changes, availableSeats: next.totalSeats - held }, { transaction });
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
