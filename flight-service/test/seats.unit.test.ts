import { decideSeatChange } from '../src/domain/holds';
import {
  chooseSeats,
  chooseSeatsInWindow,
  chosenSeatIssues,
  seatIndex,
  seatMap,
  seatName,
  seatNames,
  seatWindow,
  type Layout,
} from '../src/domain/seats';

const first = () => 0;
const last = (n: number) => n - 1;
const layout = { seatsPerRow: 6, totalSeats: 30 };
/** Every seat of the 30-seat map taken except `free`. */
const allBut = (free: string[]) => new Set(seatNames(layout).filter((s) => !free.includes(s)));

/** A seeded generator of integers in [0, n), so a random-map test sees the same maps every run. */
function seeded(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

/** A random layout of 80–280 rows of 1–10 seats (the last row partial) with a random share of its seats taken. */
function randomMap(rnd: (n: number) => number): { l: Layout; taken: Set<string> } {
  const l: Layout = { seatsPerRow: 1 + rnd(10), totalSeats: 0 };
  l.totalSeats = l.seatsPerRow * (80 + rnd(200)) - rnd(l.seatsPerRow);
  const density = rnd(100) / 100;
  return { l, taken: new Set(seatNames(l).filter(() => rnd(1000) / 1000 < density)) };
}

describe('seat names', () => {
  test('row + letter from ABCDEFGHJK (no I), the last row partial', () => {
    expect(seatNames({ seatsPerRow: 10, totalSeats: 12 })).toEqual([
      '1A',
      '1B',
      '1C',
      '1D',
      '1E',
      '1F',
      '1G',
      '1H',
      '1J',
      '1K',
      '2A',
      '2B',
    ]);
    expect(seatName(29, 6)).toBe('5F');
    expect(seatIndex('5F', layout)).toBe(29);
    for (const off of ['6A', '1G', '0A', '1I', '01A', '1a', '1000A', ''])
      expect(seatIndex(off, layout)).toBeUndefined();
  });

  test('chosen seats: off the map and twice are named by position', () => {
    expect(chosenSeatIssues(['1A', null, '9A', '1A'], layout).map((i) => i.path)).toEqual([
      'seatNumbers.2',
      'seatNumbers.3',
    ]);
    expect(chosenSeatIssues([null, null], layout)).toEqual([]);
  });

  test('the map counts its own available seats', () => {
    const map = seatMap(1, { seatsPerRow: 4, totalSeats: 6 }, new Set(['1B', '2A']));
    expect(map).toMatchObject({ seatsPerRow: 4, rows: 2, availableSeats: 4 });
    expect(map.seats.map((s) => s.status)).toEqual([
      'available',
      'taken',
      'available',
      'available',
      'taken',
      'available',
    ]);
  });
});

describe('auto-assignment (the pure chooser)', () => {
  test('a block of adjacent seats in one row when one is free, chosen at random among such blocks', () => {
    expect(chooseSeats(layout, new Set(), 3, first)).toEqual(['1A', '1B', '1C']);
    expect(chooseSeats(layout, new Set(), 3, last)).toEqual(['5D', '5E', '5F']);
    // Row 1 has 1A 1C 1E free (no block of 2); row 4 has 4B 4C.
    const taken = allBut(['1A', '1C', '1E', '4B', '4C']);
    expect(chooseSeats(layout, taken, 2, first)).toEqual(['4B', '4C']);
    expect(chooseSeats(layout, taken, 2, last)).toEqual(['4B', '4C']);
  });

  test('otherwise seats in one row, the tightest span', () => {
    const taken = allBut(['2A', '2C', '2F', '3A', '4F']);
    expect(chooseSeats(layout, taken, 2, first)).toEqual(['2A', '2C']);
    expect(chooseSeats(layout, taken, 3, first)).toEqual(['2A', '2C', '2F']);
  });

  test('otherwise the nearest rows: the fewest consecutive rows holding the party', () => {
    const taken = allBut(['1A', '3B', '4E', '5A', '5C']);
    // 3B+4E (rows 3–4) is 2 rows; 4E+5A+5C (rows 4–5) holds 3 in 2 rows.
    expect(chooseSeats(layout, taken, 3, first)).toEqual(['4E', '5A', '5C']);
    expect(chooseSeats(layout, allBut(['1A', '3B', '5A']), 2, first)).toEqual(['1A', '3B']);
    // A party wider than a row spans the fewest rows.
    expect(chooseSeats({ seatsPerRow: 2, totalSeats: 10 }, new Set(['1A']), 4, first)).toEqual([
      '2A',
      '2B',
      '3A',
      '3B',
    ]);
  });

  test('never a seat already taken or chosen; undefined when too few are free', () => {
    const taken = allBut(['1A', '1B']);
    expect(chooseSeats(layout, taken, 3)).toBeUndefined();
    for (let i = 0; i < 50; i++) {
      const got = chooseSeats(layout, new Set(['1A', '2B', '3C']), 4) as string[];
      expect(got).toHaveLength(4);
      expect(got.some((s) => ['1A', '2B', '3C'].includes(s))).toBe(false);
      expect(new Set(got.map((s) => s.slice(0, -1))).size).toBe(1);
    }
  });
});

describe('auto-assignment beside the seats the booking chose', () => {
  // The chosen seats are unavailable to the chooser (holds.ts adds them), and it is told where they are.
  const chosen = (seats: string[], taken: Iterable<string> = []) => new Set([...taken, ...seats]);

  test('12A chosen, one more to seat: 12B, else the nearest seat in the row, else the nearest row, front first', () => {
    expect(chooseSeats(layout, chosen(['3A']), 1, last, ['3A'])).toEqual(['3B']);
    expect(chooseSeats(layout, chosen(['3A'], ['3B']), 1, last, ['3A'])).toEqual(['3C']);
    const row3 = ['3B', '3C', '3D', '3E', '3F'];
    expect(chooseSeats(layout, chosen(['3A'], row3), 1, last, ['3A'])).toEqual(['2A']);
    expect(chooseSeats(layout, chosen(['3A'], [...row3, '2A']), 1, last, ['3A'])).toEqual(['4A']);
    // Two chosen at the row's ends: the nearest to either, the first of a tie.
    expect(chooseSeats(layout, chosen(['3A', '3F']), 1, last, ['3A', '3F'])).toEqual(['3B']);
  });

  test('the rules keep their order: a block in another row beats split seats beside the chosen one', () => {
    expect(chooseSeats(layout, chosen(['3A']), 2, last, ['3A'])).toEqual(['3B', '3C']);
    expect(chooseSeats(layout, chosen(['3A'], ['3B']), 2, last, ['3A'])).toEqual(['3C', '3D']);
    // Row 3 has 3C and 3E (no block of 2); the only block is 5A 5B.
    const taken = allBut(['3A', '3C', '3E', '5A', '5B']);
    expect(chooseSeats(layout, chosen(['3A'], taken), 2, last, ['3A'])).toEqual(['5A', '5B']);
    // No block anywhere: the tightest span in one row, the one nearest the chosen seat.
    const noBlock = allBut(['1A', '1C', '3A', '4B', '4D']);
    expect(chooseSeats(layout, chosen(['3A'], noBlock), 2, last, ['3A'])).toEqual(['4B', '4D']);
    // Without a chosen seat the choice among equals stays random.
    expect(chooseSeats(layout, new Set(), 1, last)).toEqual(['5F']);
  });

  test('on a large map the window goes around the chosen seats; too far apart, or a nearer row outside it, reads the whole map', () => {
    const big: Layout = { seatsPerRow: 10, totalSeats: 99_990 };
    expect(seatWindow(big, 1, last, ['500C'])).toEqual({ firstRow: 494, lastRow: 506 });
    expect(seatWindow(big, 1, last, ['2C'])).toEqual({ firstRow: 1, lastRow: 8 });
    expect(seatWindow(big, 1, last, ['10A', '500A'])).toBeUndefined();
    const w = { firstRow: 494, lastRow: 506 };
    expect(chooseSeatsInWindow(big, w, chosen(['500C']), 1, last, ['500C'])).toEqual(['500B']);
    // A window that reaches 5 rows above the chosen seat, with the only free seat 15 rows below: a row above the
    // window might be nearer, so the window cannot decide.
    const lopsided = { firstRow: 495, lastRow: 520 };
    const full = new Set<string>();
    for (let r = 495; r <= 520; r++)
      for (const c of 'ABCDEFGHJK') if (`${r}${c}` !== '515A') full.add(`${r}${c}`);
    expect(chooseSeatsInWindow(big, lopsided, full, 1, last, ['500C'])).toBeUndefined();
  });

  test('whatever the window returns beside chosen seats is exactly the whole map’s choice (random maps)', () => {
    const rnd = seeded(11);
    let windowed = 0;
    for (let round = 0; round < 400; round++) {
      const { l, taken } = randomMap(rnd);
      const free = seatNames(l).filter((s) => !taken.has(s));
      if (free.length < 2) continue;
      const near = [free[rnd(free.length)]];
      if (rnd(3) === 0) near.push(free[rnd(free.length)]);
      const unavailable = new Set([...taken, ...near]);
      const count = 1 + rnd(10);
      const whole = chooseSeats(l, unavailable, count, rnd, near);
      const w = seatWindow(l, count, rnd, near);
      if (!w) continue;
      const got = chooseSeatsInWindow(l, w, unavailable, count, rnd, near);
      if (!got) continue;
      windowed++;
      expect(got).toEqual(whole);
    }
    expect(windowed).toBeGreaterThan(50);
  });
});

describe('auto-assignment on a large map: a window of rows, the whole map only when needed', () => {
  const big: Layout = { seatsPerRow: 10, totalSeats: 99_990 };

  test('a map of up to 240 seats is read whole; a larger one in a window at a random place, cut by the edges', () => {
    expect(seatWindow(layout, 1)).toBeUndefined();
    expect(seatWindow({ seatsPerRow: 6, totalSeats: 240 }, 2, first)).toBeUndefined();
    expect(seatWindow({ seatsPerRow: 6, totalSeats: 241 }, 2, last)).toEqual({ firstRow: 41, lastRow: 41 });
    expect(seatWindow(big, 1, first)).toEqual({ firstRow: 1, lastRow: 1 });
    expect(seatWindow(big, 1, () => 5)).toEqual({ firstRow: 1, lastRow: 6 });
    expect(seatWindow(big, 1, last)).toEqual({ firstRow: 9999, lastRow: 9999 });
    // One seat per row, a party of 10: twice the rows it needs, at least 60 seats.
    expect(seatWindow({ seatsPerRow: 1, totalSeats: 1000 }, 10, () => 999)).toEqual({
      firstRow: 941,
      lastRow: 1000,
    });
    // Every row of the map is in equally many windows.
    const l: Layout = { seatsPerRow: 6, totalSeats: 600 };
    const cover = new Array<number>(101).fill(0);
    for (let k = 0; k < 100 + 10 - 1; k++) {
      const w = seatWindow(l, 1, () => k) as { firstRow: number; lastRow: number };
      for (let r = w.firstRow; r <= w.lastRow; r++) cover[r] += 1;
    }
    expect(new Set(cover.slice(1)).size).toBe(1);
  });

  test('a block in the window is taken; seats only in one row, or a partial window, send it to the whole map', () => {
    const w = { firstRow: 500, lastRow: 505 };
    expect(chooseSeatsInWindow(big, w, new Set(), 3, first)).toEqual(['500A', '500B', '500C']);
    // Every row of the window has only every other seat free: no block of 2 there, maybe elsewhere.
    const alternate = new Set<string>();
    for (let r = 500; r <= 505; r++) for (const c of 'BDFHK') alternate.add(`${r}${c}`);
    expect(chooseSeatsInWindow(big, w, alternate, 2, first)).toBeUndefined();
    expect(chooseSeatsInWindow(big, w, alternate, 1, last)).toEqual(['505J']);
    // A window past the end of the map (a layout that shrank since it was placed).
    expect(chooseSeatsInWindow(big, { firstRow: 10_000, lastRow: 10_005 }, new Set(), 1)).toBeUndefined();
  });

  test('a party wider than a row takes the fewest rows possible in the window, or goes to the whole map', () => {
    const narrow: Layout = { seatsPerRow: 2, totalSeats: 400 };
    const w = { firstRow: 11, lastRow: 40 };
    expect(chooseSeatsInWindow(narrow, w, new Set(), 4, first)).toEqual(['11A', '11B', '12A', '12B']);
    const gappy = new Set<string>();
    for (let r = 11; r <= 40; r++) gappy.add(`${r}B`);
    expect(chooseSeatsInWindow(narrow, w, gappy, 4, first)).toBeUndefined();
  });

  test('whatever the window returns is as good as the best choice on the whole map (random maps)', () => {
    // Rank by the rules: 1 a block in one row, 2 one row, 3 + rows for the nearest rows.
    const rank = (seats: string[], l: Layout) => {
      const rows = seats.map((s) => Number(s.slice(0, -1)));
      if (new Set(rows).size === 1) {
        const cols = seats.map((s) => (seatIndex(s, l) as number) % l.seatsPerRow).sort((a, b) => a - b);
        return cols[cols.length - 1] - cols[0] === seats.length - 1 ? 1 : 2;
      }
      return 3 + Math.max(...rows) - Math.min(...rows) + 1;
    };
    const rnd = seeded(7);
    let windowed = 0;
    for (let round = 0; round < 400; round++) {
      const { l, taken } = randomMap(rnd);
      const count = 1 + rnd(10);
      const w = seatWindow(l, count, rnd);
      if (!w) continue;
      const got = chooseSeatsInWindow(l, w, taken, count, rnd);
      const best = chooseSeats(l, taken, count, rnd);
      // A free block of `count` inside the window must be found there.
      let blockInWindow = false;
      for (let r = w.firstRow; r <= w.lastRow; r++) {
        let run = 0;
        for (let c = 0; c < l.seatsPerRow; c++) {
          const i = (r - 1) * l.seatsPerRow + c;
          run = i < l.totalSeats && !taken.has(seatName(i, l.seatsPerRow)) ? run + 1 : 0;
          if (run >= count) blockInWindow = true;
        }
      }
      if (blockInWindow) expect(got).toBeDefined();
      if (!got) continue;
      windowed++;
      expect(best).toBeDefined();
      expect(new Set(got).size).toBe(count);
      for (const s of got) {
        expect(taken.has(s)).toBe(false);
        expect(seatIndex(s, l)).toBeDefined();
        const row = Number(s.slice(0, -1));
        expect(row >= w.firstRow && row <= w.lastRow).toBe(true);
      }
      expect(rank(got, l)).toBe(rank(best as string[], l));
    }
    expect(windowed).toBeGreaterThan(100);
  });
});

describe('decideSeatChange', () => {
  const held = { bookingId: 1, flightId: 7, seats: 2, status: 'HELD' as const, seatNumbers: ['1A', '1B'] };
  const ask = (seatNumbers: string[]) => ({ flightId: 7, bookingId: 1, changeId: 'c', seatNumbers });
  test('the same seats are unchanged, a reorder is a change, a wrong count or state is refused', () => {
    expect(decideSeatChange(held, ask(['1A', '1B']))).toEqual({ kind: 'unchanged' });
    expect(decideSeatChange(held, ask(['1B', '1A']))).toEqual({ kind: 'change', seatNumbers: ['1B', '1A'] });
    const code = (d: ReturnType<typeof decideSeatChange>) => (d.kind === 'refused' ? d.refusal.code : d.kind);
    expect(code(decideSeatChange(held, ask(['1A'])))).toBe('seat-numbers-invalid');
    expect(code(decideSeatChange(undefined, ask(['1A'])))).toBe('not-found');
    expect(code(decideSeatChange({ ...held, flightId: 8 }, ask(['1A', '1B'])))).toBe('not-found');
    expect(code(decideSeatChange({ ...held, status: 'RELEASED' }, ask(['1A', '1B'])))).toBe(
      'reservation-released',
    );
  });
});
