export { eventually } from '@skyway/common/testing';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
