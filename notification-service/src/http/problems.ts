import { HttpProblem } from '@skyway/common';
import type { Refusal, RefusalCode } from '../app/list-notifications';

interface ProblemSpec {
  status: number;
  type: string;
  detail: (refusal: Refusal) => string;
}

/** THE table: every refusal code → status, problem type and detail (empty today: see domain/refusals.ts). */
const PROBLEMS: Record<RefusalCode, ProblemSpec> = {};

/** The problem+json a route answers with when its use case refused. */
export function problemFor(refusal: Refusal): HttpProblem {
  const spec: ProblemSpec = PROBLEMS[refusal.code];
  return new HttpProblem(spec.status, spec.detail(refusal), undefined, spec.type);
}
