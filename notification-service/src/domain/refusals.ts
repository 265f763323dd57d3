/**
 * Why a use case of this service refuses, as codes; src/http/problems.ts maps each code to a status and
 * problem type. There are none today: listing a booking's notifications refuses nothing (an unknown booking
 * has none), and a malformed query is rejected by the route's schema before any use case runs. A new refusal
 * is a new code here and a new row there: the table's type makes a missing row a compile error.
 */
export type RefusalCode = never;

export interface Refusal {
  code: RefusalCode;
  /** Facts the problem's detail may name. */
  data?: Record<string, unknown>;
}
