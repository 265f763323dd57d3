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

/** How good a choice is, by the rules below: a block in one row, seats in one row, or `rows` consecutive rows. */
type Choice = {
  seats: string[];
  /** Rows between the choice and the nearest anchor (0 without anchors). */
  rowsAway: number;
} & ({ rule: 'block' } | { rule: 'row' } | { rule: 'rows'; rows: number });

/**
 * Seats for a party of `count` among the free seats, or undefined when fewer are free:
 *   1. adjacent seats in one row, when any row has such a block;
 *   2. otherwise seats in one row (the tightest span in that row);
 *   3. otherwise the nearest rows: the fewest consecutive rows holding `count` free seats.
 * When others of the same booking chose their seats (`near`), the choice among equally good ones is the one nearest
 * to those seats (fewest rows away, then fewest seats along the row; front and left first on a tie): "12A for Asha,
 * and seat Ravi" puts Ravi in 12B when it is free. Otherwise one is picked at random (`pick`), so concurrent holds
 * on one flight, each deciding from the same read, mostly choose different seats instead of all racing for the
 * first block.
 */
export function chooseSeats(
  l: Layout,
  unavailable: ReadonlySet<string>,
  count: number,
  pick: Pick = randomPick,
  near: readonly string[] = [],
): string[] | undefined {
  return chooseWithin(l, unavailable, count, 0, rowsOf(l), pick, anchorsOf(l, near))?.seats;
}

/** A chosen seat's place (0-based row and letter index), that the seats assigned beside it are measured from. */
interface Anchor {
  row: number;
  col: number;
}

/** The places of `seats` on this map (seats not on it are left out). */
function anchorsOf(l: Layout, seats: readonly string[]): Anchor[] {
  return seats.flatMap((s) => {
    const i = seatIndex(s, l);
    return i === undefined ? [] : [{ row: Math.floor(i / l.seatsPerRow), col: i % l.seatsPerRow }];
  });
}

/** How far a seat is from the nearest anchor: rows first, then seats along the row (rows outweigh any row width). */
const distance = (anchors: readonly Anchor[], row: number, col: number): number =>
  Math.min(...anchors.map((a) => Math.abs(a.row - row) * (MAX_SEATS_PER_ROW + 1) + Math.abs(a.col - col)));

/**
 * The rows (1-based, inclusive) a windowed choice reads: a hold on a large map reads the seats taken in a few rows
 * at a random place instead of the whole map (a sale-day flight's map is read once per hold).
 */
export interface SeatWindow {
  firstRow: number;
  lastRow: number;
}

/** A window holds at least this many seats (and at least twice the rows a party needs). */
export const WINDOW_SEATS = 60;
/** A map of at most this many seats is read whole: its read is cheap, and every hold chooses from all of it. */
export const WHOLE_MAP_SEATS = 4 * WINDOW_SEATS;

/**
 * A random window of rows for a party of `count` on this layout, or undefined when the map is small enough to be
 * read whole. Every row is in equally many of the possible windows (those at the ends are cut short by the map's
 * edges), so concurrent holds spread over the whole map as they would choosing from all of it. For a party that
 * chose some of its seats (`near`), the rows around those instead.
 */
export function seatWindow(
  l: Layout,
  count: number,
  pick: Pick = randomPick,
  near: readonly string[] = [],
): SeatWindow | undefined {
  const rows = rowsOf(l);
  const size = Math.max(2 * Math.ceil(count / l.seatsPerRow), Math.ceil(WINDOW_SEATS / l.seatsPerRow));
  if (mapSeats(l) <= WHOLE_MAP_SEATS || rows <= 2 * size) return undefined;
  const anchors = anchorsOf(l, near);
  if (anchors.length) {
    // Around the seats the booking chose (1-based rows); chosen seats far apart send the hold to the whole map.
    const top = Math.min(...anchors.map((a) => a.row)) + 1;
    const bottom = Math.max(...anchors.map((a) => a.row)) + 1;
    if (bottom - top > size) return undefined;
    return { firstRow: Math.max(1, top - size), lastRow: Math.min(rows, bottom + size) };
  }
  const start = pick(rows + size - 1) - size + 2; // from 2 - size (only row 1 on the map) to rows (only the last)
  return { firstRow: Math.max(1, start), lastRow: Math.min(rows, start + size - 1) };
}

/**
 * Seats chosen within the window's rows (`unavailable` needs to be complete only for those rows), when that choice
 * is as good as the best one on the whole map: a block of adjacent seats in one row (rule 1: any block is as good
 * as another), or, for a party wider than a row, the fewest rows any party of its size can take. Otherwise
 * undefined: the whole map must be read (a row elsewhere may have a block, or no seats may be left).
 */
export function chooseSeatsInWindow(
  l: Layout,
  w: SeatWindow,
  unavailable: ReadonlySet<string>,
  count: number,
  pick: Pick = randomPick,
  near: readonly string[] = [],
): string[] | undefined {
  if (count <= 0) return [];
  const first = Math.max(0, w.firstRow - 1);
  const end = Math.min(w.lastRow, rowsOf(l));
  if (first >= end) return undefined;
  const anchors = anchorsOf(l, near);
  const got = chooseWithin(l, unavailable, count, first, end, pick, anchors);
  if (!got) return undefined;
  // Near chosen seats, a choice is the whole map's only if no row outside the window could be nearer: every such
  // row is more rows away from every anchor than the choice is (the map's edges have no rows beyond them).
  if (anchors.length) {
    const reach = Math.min(
      first > 0 ? Math.min(...anchors.map((a) => a.row)) - first : Infinity,
      end < rowsOf(l) ? end - 1 - Math.max(...anchors.map((a) => a.row)) : Infinity,
    );
    if (got.rowsAway > reach) return undefined;
  }
  if (got.rule === 'block') return got.seats;
  // A party of rows across the window's edge may be nearer the anchors than any inside it: the whole map decides.
  if (anchors.length) return undefined;
  if (got.rule === 'rows' && count > l.seatsPerRow && got.rows === Math.ceil(count / l.seatsPerRow)) {
    return got.seats;
  }
  return undefined;
}

/** The three rules of {@link chooseSeats} over the 0-based rows [firstRow, endRow). */
function chooseWithin(
  l: Layout,
  unavailable: ReadonlySet<string>,
  count: number,
  firstRow: number,
  endRow: number,
  pick: Pick,
  anchors: readonly Anchor[] = [],
): Choice | undefined {
  if (count <= 0) return { seats: [], rule: 'block', rowsAway: 0 };
  /**
   * One of equally good candidates (each a list of [row, letter index], 0-based rows): the nearest to the anchors,
   * the first of those on a tie; without anchors, one at random.
   */
  const choose = <T>(
    candidates: T[],
    places: (c: T) => Array<[number, number]>,
  ): { c: T; rowsAway: number } => {
    if (!anchors.length) return { c: candidates[pick(candidates.length)], rowsAway: 0 };
    let best = candidates[0];
    let bestKey = Infinity;
    for (const c of candidates) {
      const key = Math.min(...places(c).map(([r, col]) => distance(anchors, r, col)));
      if (key < bestKey) [best, bestKey] = [c, key];
    }
    return { c: best, rowsAway: Math.floor(bestKey / (MAX_SEATS_PER_ROW + 1)) };
  };
  const name = (r: number, c: number) => `${r + 1}${SEAT_LETTERS[c]}`;
  // Free seat positions (letter indexes) per row of the range: free[i] is row firstRow + i.
  const free: number[][] = [];
  let totalFree = 0;
  for (let r = firstRow; r < endRow; r++) {
    const width = Math.min(l.seatsPerRow, mapSeats(l) - r * l.seatsPerRow);
    const row: number[] = [];
    for (let c = 0; c < width; c++) {
      if (!unavailable.has(name(r, c))) row.push(c);
    }
    free.push(row);
    totalFree += row.length;
  }
  if (totalFree < count) return undefined;

  // 1. Every run of `count` adjacent free seats in one row.
  const blocks: Array<[number, number]> = [];
  free.forEach((row, i) => {
    for (let k = 0; k + count <= row.length; k++) {
      if (row[k + count - 1] - row[k] === count - 1) blocks.push([i, row[k]]);
    }
  });
  if (blocks.length) {
    const { c: block, rowsAway } = choose(blocks, ([i, c]) =>
      Array.from({ length: count }, (_, k): [number, number] => [firstRow + i, c + k]),
    );
    const [i, c] = block;
    return {
      seats: Array.from({ length: count }, (_, k) => name(firstRow + i, c + k)),
      rule: 'block',
      rowsAway,
    };
  }

  // 2. One row with enough free seats: the window of `count` free seats with the smallest span.
  const inRow: Array<{ i: number; start: number; span: number }> = [];
  free.forEach((row, i) => {
    for (let k = 0; k + count <= row.length; k++)
      inRow.push({ i, start: k, span: row[k + count - 1] - row[k] });
  });
  if (inRow.length) {
    const best = Math.min(...inRow.map((w) => w.span));
    const tight = inRow.filter((w) => w.span === best);
    const { c: chosen, rowsAway } = choose(tight, (w) =>
      free[w.i].slice(w.start, w.start + count).map((c): [number, number] => [firstRow + w.i, c]),
    );
    const { i, start } = chosen;
    return {
      seats: free[i].slice(start, start + count).map((c) => name(firstRow + i, c)),
      rule: 'row',
      rowsAway,
    };
  }

  // 3. The fewest consecutive rows that together have `count` free seats; seats taken front to back.
  let bestRows = Infinity;
  const windows: number[] = [];
  for (let start = 0; start < free.length; start++) {
    let got = 0;
    let last = start;
    for (; last < free.length && got < count; last++) got += free[last].length;
    if (got < count) break;
    const span = last - start;
    if (span < bestRows) {
      bestRows = span;
      windows.length = 0;
    }
    if (span === bestRows) windows.push(start);
  }
  // The seats a party starting at row `start` takes: front to back, left to right.
  const takes = (start: number): Array<[number, number]> => {
    const places: Array<[number, number]> = [];
    for (let i = start; places.length < count; i++) {
      for (const c of free[i]) {
        if (places.length < count) places.push([firstRow + i, c]);
      }
    }
    return places;
  };
  const { c: start, rowsAway } = choose(windows, takes);
  const seats = takes(start).map(([r, c]) => name(r, c));
  return { seats, rule: 'rows', rows: bestRows, rowsAway };
}

/**
 * The seat of every passenger: the chosen ones where given, assigned ones (in order) for the `null` entries.
 * `assigned` has exactly as many seats as there are `null` entries.
 */
export function fillSeats(chosen: ReadonlyArray<string | null>, assigned: readonly string[]): string[] {
  let next = 0;
  return chosen.map((s) => s ?? assigned[next++]);
}
