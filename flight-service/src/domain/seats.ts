import type { FieldIssue } from './refusals';

/** Seat letters in order; airlines skip `I` (it reads as `1`). */
export const SEAT_LETTERS = 'ABCDEFGHJK';
export const MAX_SEATS_PER_ROW = SEAT_LETTERS.length;
/** Seat names carry at most four row digits (`^[1-9][0-9]{0,3}[A-HJK]$`), so a map has at most 9999 rows (a
 * 1000-seat airplane, the largest the catalog admits, needs 1000 at one seat per row). */
export const MAX_ROWS = 9999;
export const DEFAULT_SEATS_PER_ROW = 6;

const SEAT_NAME = /^([1-9][0-9]{0,3})([A-HJK])$/;

/** What a flight's seat map is made of: its airplane's row width and the flight's number of seats. */
export interface Layout {
  seatsPerRow: number;
  totalSeats: number;
}

/**
 * The seats the map names: the flight's totalSeats, which the catalog keeps within 9999 rows (capacity ≤ 9999 ×
 * seatsPerRow); a row written around the API (SQL) cannot make the map unnameable or unbounded.
 */
export const mapSeats = (l: Layout): number => Math.min(l.totalSeats, MAX_ROWS * l.seatsPerRow);

export const rowsOf = (l: Layout): number => Math.ceil(mapSeats(l) / l.seatsPerRow);

/** The name of the seat at 0-based map position `index` (`0` → `1A`). */
export function seatName(index: number, seatsPerRow: number): string {
  return `${Math.floor(index / seatsPerRow) + 1}${SEAT_LETTERS[index % seatsPerRow]}`;
}

/** The 0-based map position of a seat name, or undefined when the seat is not on this map. */
export function seatIndex(name: string, l: Layout): number | undefined {
  const m = SEAT_NAME.exec(name);
  if (!m) return undefined;
  const letter = SEAT_LETTERS.indexOf(m[2]);
  if (letter >= l.seatsPerRow) return undefined;
  const index = (Number(m[1]) - 1) * l.seatsPerRow + letter;
  return index < mapSeats(l) ? index : undefined;
}

/** Every seat of the map, in map order (`1A 1B … 1F 2A …`). */
export function seatNames(l: Layout): string[] {
  return Array.from({ length: mapSeats(l) }, (_, i) => seatName(i, l.seatsPerRow));
}

/** An airplane whose capacity its rows cannot name (more than 9999 rows) is refused. */
export function layoutFits(capacity: number, seatsPerRow: number): boolean {
  return capacity <= MAX_ROWS * seatsPerRow;
}

/**
 * Chosen seats (a string per passenger, `null` for "assign one") against the map: each must be on it and none twice.
 * Paths are `<prefix>.<i>`.
 */
export function chosenSeatIssues(
  seats: ReadonlyArray<string | null>,
  l: Layout,
  prefix = 'seatNumbers',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  seats.forEach((seat, i) => {
    if (seat === null) return;
    if (seatIndex(seat, l) === undefined) {
      issues.push({ path: `${prefix}.${i}`, message: `seat ${seat} is not on this flight's seat map` });
    } else if (seen.has(seat)) {
      issues.push({ path: `${prefix}.${i}`, message: `seat ${seat} is asked for twice` });
    }
    seen.add(seat);
  });
  return issues;
}

/** One seat as the public map shows it: never who holds it. */
export interface MapSeat {
  seat: string;
  status: 'available' | 'taken';
}

export interface SeatMap {
  flightId: number;
  seatsPerRow: number;
  rows: number;
  availableSeats: number;
  seats: MapSeat[];
}

/** The public seat map; `availableSeats` is counted on the map itself, so it always agrees with it. */
export function seatMap(flightId: number, l: Layout, taken: ReadonlySet<string>): SeatMap {
  const seats = seatNames(l).map((seat): MapSeat => ({
    seat,
    status: taken.has(seat) ? 'taken' : 'available',
  }));
  return {
    flightId,
    seatsPerRow: l.seatsPerRow,
    rows: rowsOf(l),
    availableSeats: seats.filter((s) => s.status === 'available').length,
    seats,
  };
}

/** A random integer in [0, n): injected so tests can pin the choice. */
export type Pick = (n: number) => number;
export const randomPick: Pick = (n) => Math.floor(Math.random() * n);

/**
 * Seats for a party of `count` among the free seats, or undefined when fewer are free:
 *   1. adjacent seats in one row, when any row has such a block;
 *   2. otherwise seats in one row (the tightest span in that row);
 *   3. otherwise the nearest rows: the fewest consecutive rows holding `count` free seats.
 * Among equally good choices one is picked at random (`pick`), so concurrent holds on one flight, each deciding from
 * the same read, mostly choose different seats instead of all racing for the first block.
 */
export function chooseSeats(
  l: Layout,
  unavailable: ReadonlySet<string>,
  count: number,
  pick: Pick = randomPick,
): string[] | undefined {
  if (count <= 0) return [];
  const rows = rowsOf(l);
  // Free seat positions (letter indexes) per row.
  const free: number[][] = [];
  let totalFree = 0;
  for (let r = 0; r < rows; r++) {
    const width = Math.min(l.seatsPerRow, mapSeats(l) - r * l.seatsPerRow);
    const row: number[] = [];
    for (let c = 0; c < width; c++) {
      if (!unavailable.has(`${r + 1}${SEAT_LETTERS[c]}`)) row.push(c);
    }
    free.push(row);
    totalFree += row.length;
  }
  if (totalFree < count) return undefined;
  const name = (r: number, c: number) => `${r + 1}${SEAT_LETTERS[c]}`;

  // 1. Every run of `count` adjacent free seats in one row.
  const blocks: Array<[number, number]> = [];
  free.forEach((row, r) => {
    for (let i = 0; i + count <= row.length; i++) {
      if (row[i + count - 1] - row[i] === count - 1) blocks.push([r, row[i]]);
    }
  });
  if (blocks.length) {
    const [r, c] = blocks[pick(blocks.length)];
    return Array.from({ length: count }, (_, k) => name(r, c + k));
  }

  // 2. One row with enough free seats: the window of `count` free seats with the smallest span.
  const inRow: Array<{ r: number; start: number; span: number }> = [];
  free.forEach((row, r) => {
    for (let i = 0; i + count <= row.length; i++)
      inRow.push({ r, start: i, span: row[i + count - 1] - row[i] });
  });
  if (inRow.length) {
    const best = Math.min(...inRow.map((w) => w.span));
    const tight = inRow.filter((w) => w.span === best);
    const { r, start } = tight[pick(tight.length)];
    return free[r].slice(start, start + count).map((c) => name(r, c));
  }

  // 3. The fewest consecutive rows that together have `count` free seats; seats taken front to back.
  let bestRows = Infinity;
  const windows: number[] = [];
  for (let first = 0; first < rows; first++) {
    let got = 0;
    let last = first;
    for (; last < rows && got < count; last++) got += free[last].length;
    if (got < count) break;
    const span = last - first;
    if (span < bestRows) {
      bestRows = span;
      windows.length = 0;
    }
    if (span === bestRows) windows.push(first);
  }
  const first = windows[pick(windows.length)];
  const chosen: string[] = [];
  for (let r = first; chosen.length < count; r++) {
    for (const c of free[r]) {
      if (chosen.length < count) chosen.push(name(r, c));
    }
  }
  return chosen;
}

/**
 * The seat of every passenger: the chosen ones where given, assigned ones (in order) for the `null` entries.
 * `assigned` has exactly as many seats as there are `null` entries.
 */
export function fillSeats(chosen: ReadonlyArray<string | null>, assigned: readonly string[]): string[] {
  let next = 0;
  return chosen.map((s) => s ?? assigned[next++]);
}
