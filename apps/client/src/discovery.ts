import type { ServiceInfo } from '@tsr-broker/client';

const COLUMNS = ['workers', 'ready', 'busy', 'waiting'] as const;

/** Discovery's answer as a table for people: one line per service, by name. */
export function servicesTable(services: readonly ServiceInfo[]): string {
  if (services.length === 0) return 'no services';
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name));
  const width = Math.max('service'.length, ...sorted.map((s) => s.name.length));
  const line = (name: string, cells: readonly (string | number)[]) =>
    [name.padEnd(width), ...cells.map((c, i) => String(c).padStart(COLUMNS[i].length))].join('  ');
  return [
    line('service', COLUMNS),
    ...sorted.map((s) =>
      line(
        s.name,
        COLUMNS.map((c) => s[c]),
      ),
    ),
  ].join('\n');
}
