// Test helper: parses the Prometheus text exposition into samples, the way a scraper would.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name, type);
      continue;
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const i = rest.indexOf(' ');
      help.set(rest.slice(0, i), rest.slice(i + 1));
      continue;
    }
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const labels: Record<string, string> = {};
    let name: string;
    let rest: string;
    if (brace >= 0) {
      name = line.slice(0, brace);
      let i = brace + 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        let j = eq + 2;
        let value = '';
        while (line[j] !== '"') {
          if (line[j] === '\\') {
            const n = line[j + 1];
            value += n === 'n' ? '\n' : n;
            j += 2;
          } else value += line[j++];
        }
        labels[key] = value;
        i = j + 1;
        if (line[i] === ',') i++;
      }
      rest = line.slice(i + 1).trim();
    } else {
      const sp = line.indexOf(' ');
      name = line.slice(0, sp);
      rest = line.slice(sp + 1).trim();
    }
    const v = rest.split(' ')[0];
    samples.push({ name, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return { samples, types, help };
}

/** A stable key for a series: its name and labels, optionally leaving some labels out. */
export function seriesKey(s: Sample, omit: string[] = []): string {
  const keys = Object.keys(s.labels).filter((k) => !omit.includes(k)).sort();
  return `${s.name}{${keys.map((k) => `${k}=${JSON.stringify(s.labels[k])}`).join(',')}}`;
}

export function select(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: Sample[]): number {
  return samples.reduce((a, s) => a + s.value, 0);
}
