import type { Airplane, Models } from '../models';

/** Real airports in six Indian cities, four common airplane models, and ~50 flights over the next 30 days. */
const CITIES: Array<{ city: string; code: string; airport: string; address: string }> = [
  {
    city: 'New Delhi',
    code: 'DEL',
    airport: 'Indira Gandhi International Airport',
    address: 'New Delhi 110037',
  },
  {
    city: 'Mumbai',
    code: 'BOM',
    airport: 'Chhatrapati Shivaji Maharaj International Airport',
    address: 'Mumbai 400099',
  },
  {
    city: 'Bengaluru',
    code: 'BLR',
    airport: 'Kempegowda International Airport',
    address: 'Devanahalli, Bengaluru 560300',
  },
  {
    city: 'Chennai',
    code: 'MAA',
    airport: 'Chennai International Airport',
    address: 'Meenambakkam, Chennai 600027',
  },
  {
    city: 'Kolkata',
    code: 'CCU',
    airport: 'Netaji Subhas Chandra Bose International Airport',
    address: 'Kolkata 700052',
  },
  {
    city: 'Hyderabad',
    code: 'HYD',
    airport: 'Rajiv Gandhi International Airport',
    address: 'Shamshabad, Hyderabad 500409',
  },
];

const AIRPLANES = [
  { modelNumber: 'Airbus A320neo', capacity: 180 },
  { modelNumber: 'Boeing 737-800', capacity: 189 },
  { modelNumber: 'Airbus A321neo', capacity: 222 },
  { modelNumber: 'ATR 72-600', capacity: 70 },
];

/** Routes with a typical block time in minutes and a base fare in paise. */
const ROUTES: Array<[string, string, number, number]> = [
  ['DEL', 'BOM', 130, 550000],
  ['BOM', 'DEL', 135, 560000],
  ['DEL', 'BLR', 165, 650000],
  ['BLR', 'DEL', 170, 640000],
  ['BOM', 'BLR', 100, 420000],
  ['BLR', 'MAA', 60, 280000],
  ['MAA', 'CCU', 140, 520000],
  ['CCU', 'DEL', 135, 500000],
  ['HYD', 'BOM', 85, 380000],
  ['DEL', 'HYD', 140, 540000],
];

const FLIGHT_COUNT = 50;

/**
 * Loads the demo catalog into an empty database and returns what it created; does nothing (returns
 * undefined) when flights already exist, so restarts never duplicate it.
 */
export async function seedDemoData(models: Models, now = new Date()) {
  const { City, Airport, Airplane, Flight } = models;
  if ((await Flight.count()) > 0) return undefined;
  for (const c of CITIES) {
    const [city] = await City.findOrCreate({ where: { name: c.city } });
    await Airport.findOrCreate({
      where: { code: c.code },
      defaults: { code: c.code, name: c.airport, address: c.address, cityId: city.id },
    });
  }
  const airplanes: Airplane[] = [];
  for (const a of AIRPLANES) airplanes.push((await Airplane.findOrCreate({ where: a }))[0]);

  const startOfTomorrow = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  const flights = Array.from({ length: FLIGHT_COUNT }, (_, i) => {
    const [from, to, minutes, fare] = ROUTES[i % ROUTES.length];
    const airplane = airplanes[i % airplanes.length];
    const day = Math.floor((i * 30) / FLIGHT_COUNT);
    const departure = new Date(startOfTomorrow + day * 86_400_000 + (5 * 60 + ((i * 97) % 900)) * 60_000);
    departure.setUTCMinutes(Math.floor(departure.getUTCMinutes() / 5) * 5, 0, 0);
    return {
      flightNumber: `SK${101 + i}`,
      airplaneId: airplane.id,
      departureAirportCode: from,
      arrivalAirportCode: to,
      departureTime: departure,
      arrivalTime: new Date(departure.getTime() + minutes * 60_000),
      price: fare + ((i * 7919) % 20) * 10000,
      boardingGate: `${String.fromCharCode(65 + (i % 6))}${1 + (i % 12)}`,
      totalSeats: airplane.capacity,
      availableSeats: airplane.capacity,
    };
  });
  await Flight.bulkCreate(flights);
  return {
    cities: CITIES.length,
    airports: CITIES.length,
    airplanes: AIRPLANES.length,
    flights: FLIGHT_COUNT,
  };
}
