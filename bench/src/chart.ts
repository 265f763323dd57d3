/** A small dependency-free SVG chart: throughput and p99 latency against concurrency. */
export interface Point {
  clients: number;
  rps: number;
  p99Ms: number;
}

export function concurrencyChart(title: string, points: Point[]): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 60, t: 40, b: 50 };
  const xs = points.map((p) => Math.log2(p.clients));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1);
  const rpsMax = Math.max(...points.map((p) => p.rps), 1) * 1.1;
  const p99Max = Math.max(...points.map((p) => p.p99Ms), 1) * 1.1;
  const x = (c: number) => m.l + ((Math.log2(c) - xMin) / (xMax - xMin)) * (W - m.l - m.r);
  const yL = (v: number) => H - m.b - (v / rpsMax) * (H - m.t - m.b);
  const yR = (v: number) => H - m.b - (v / p99Max) * (H - m.t - m.b);
  const line = (f: (p: Point) => number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.clients).toFixed(1)},${f(p).toFixed(1)}`).join(' ')}"/>` +
    points
      .map((p) => `<circle cx="${x(p.clients).toFixed(1)}" cy="${f(p).toFixed(1)}" r="3" fill="${color}"/>`)
      .join('');
  const ticks = points
    .map(
      (p) =>
        `<text x="${x(p.clients).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${p.clients}</text>`,
    )
    .join('');
  const labels = points
    .map(
      (p) =>
        `<text x="${x(p.clients).toFixed(1)}" y="${(yL(p.rps) - 8).toFixed(1)}" text-anchor="middle" fill="#1f77b4">${p.rps}</text>` +
        `<text x="${x(p.clients).toFixed(1)}" y="${(yR(p.p99Ms) + 16).toFixed(1)}" text-anchor="middle" fill="#d62728">${p.p99Ms} ms</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>
<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#1f77b4"/>
<line x1="${W - m.r}" y1="${m.t}" x2="${W - m.r}" y2="${H - m.b}" stroke="#d62728"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">concurrent clients</text>
<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle" fill="#1f77b4">requests/s</text>
<text x="${W - 16}" y="${H / 2}" transform="rotate(90 ${W - 16} ${H / 2})" text-anchor="middle" fill="#d62728">p99 latency (ms)</text>
${ticks}${line((p) => yL(p.rps), '#1f77b4')}${line((p) => yR(p.p99Ms), '#d62728')}${labels}
</svg>
`;
}
