import { decideSeatChange } from '../src/domain/holds';
import { chooseSeats, chosenSeatIssues, seatIndex, seatMap, seatName, seatNames } from '../src/domain/seats';

const first = () => 0;
const last = (n: number) => n - 1;
const layout = { seatsPerRow: 6, totalSeats: 30 };
/** Every seat of the 30-seat map taken except `free`. */
const allBut = (free: string[]) => new Set(seatNames(layout).filter((s) => !free.includes(s)));

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
