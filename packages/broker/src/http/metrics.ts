// A small Prometheus text-format registry: counters and one latency histogram.

type Labels = Record<string, string>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  readonly #counters = new Map<string, { help: string; values: Map<string, number> }>();
  readonly #histogram = new Map<string, { buckets: number[]; sum: number; count: number }>();

  inc(name: string, labels: Labels = {}, help = name): void {
    this.add(name, 1, labels, help);
  }

  add(name: string, amount: number, labels: Labels = {}, help = name): void {
    let counter = this.#counters.get(name);
    if (!counter) {
      counter = { help, values: new Map() };
      this.#counters.set(name, counter);
    }
    const key = labelText(labels);
    counter.values.set(key, (counter.values.get(key) ?? 0) + amount);
  }

  /** Records one HTTP request duration (seconds) by route. */
  observeRequest(route: string, seconds: number): void {
    const key = labelText({ route });
    let h = this.#histogram.get(key);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#histogram.set(key, h);
    }
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.buckets[i]! += 1;
    });
    h.sum += seconds;
    h.count += 1;
  }

  /** Prometheus text; `gauges` are values read at scrape time (queue depth, uploads by state). */
  render(gauges: Array<{ name: string; help: string; labels?: Labels; value: number }> = []): string {
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const gauge of gauges) {
      if (!seen.has(gauge.name))
        lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      seen.add(gauge.name);
      lines.push(`${gauge.name}${labelText(gauge.labels ?? {})} ${gauge.value}`);
    }
    for (const [name, counter] of this.#counters) {
      lines.push(`# HELP ${name} ${counter.help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of counter.values) lines.push(`${name}${labels} ${value}`);
    }
    const name = "sluice_http_request_duration_seconds";
    lines.push(`# HELP ${name} HTTP request latency`, `# TYPE ${name} histogram`);
    for (const [labels, h] of this.#histogram) {
      const inner = labels.slice(1, -1);
      BUCKETS.forEach((le, i) => {
        lines.push(`${name}_bucket{${inner},le="${le}"} ${h.buckets[i]}`);
      });
      lines.push(
        `${name}_bucket{${inner},le="+Inf"} ${h.count}`,
        `${name}_sum${labels} ${h.sum}`,
        `${name}_count${labels} ${h.count}`,
      );
    }
    return `${lines.join("\n")}\n`;
  }
}
