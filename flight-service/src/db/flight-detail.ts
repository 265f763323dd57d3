import { QueryTypes, type Sequelize } from 'sequelize';

/**
 * A flight with its airplane and both airports, in one query. This is the read booking-service makes for every
 * booking, so it skips the ORM's include machinery (several times the CPU of the query itself).
 */
export async function findFlightDetail(sequelize: Sequelize, id: number) {
  const [row] = await sequelize.query<Record<string, unknown>>(
    `SELECT f.id, f.flightNumber, f.airplaneId, f.departureAirportCode, f.arrivalAirportCode, f.departureTime,
            f.arrivalTime, f.price, f.boardingGate, f.totalSeats, f.availableSeats,
            p.modelNumber AS p_modelNumber, p.capacity AS p_capacity,
            d.id AS d_id, d.name AS d_name, d.address AS d_address, d.cityId AS d_cityId,
            a.id AS a_id, a.name AS a_name, a.address AS a_address, a.cityId AS a_cityId
       FROM flights f
       JOIN airplanes p ON p.id = f.airplaneId
       JOIN airports d ON d.code = f.departureAirportCode
       JOIN airports a ON a.code = f.arrivalAirportCode
      WHERE f.id = ?`,
    { replacements: [id], type: QueryTypes.SELECT },
  );
  if (!row) return undefined;
  const airport = (p: 'd' | 'a', code: unknown) => ({
    id: row[`${p}_id`],
    code,
    name: row[`${p}_name`],
    address: row[`${p}_address`],
    cityId: row[`${p}_cityId`],
  });
  return {
    id: row.id,
    flightNumber: row.flightNumber,
    airplaneId: row.airplaneId,
    departureAirportCode: row.departureAirportCode,
    arrivalAirportCode: row.arrivalAirportCode,
    departureTime: row.departureTime,
    arrivalTime: row.arrivalTime,
    price: Number(row.price),
    boardingGate: row.boardingGate,
    totalSeats: row.totalSeats,
    availableSeats: row.availableSeats,
    airplane: { id: row.airplaneId, modelNumber: row.p_modelNumber, capacity: row.p_capacity },
    departureAirport: airport('d', row.departureAirportCode),
    arrivalAirport: airport('a', row.arrivalAirportCode),
  };
}
