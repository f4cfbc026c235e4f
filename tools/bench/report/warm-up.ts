/** Whether the warm-up was long enough: the closed-loop windows measured before the load reached its pace, and which. */
import type { RunRecord } from '../matrix';
import { RAMPING } from '../stats';
import { sizeLabel } from './format';
import { uniq } from './runs';

export function warmUpChecks(all: RunRecord[]): string[] {
  const closed = all.filter((r): r is RunRecord & { windowRamp: number } => r.mode === 'closed' && Number.isFinite(r.windowRamp));
  if (closed.length === 0) return [];
  const ramping = closed.filter((r) => r.windowRamp < RAMPING);
  const which = uniq(ramping.map((r) => `${r.phase} ${r.target} ${sizeLabel(r.size)}`)).join(', ');
  return [
    `warm-up: ${ramping.length} of ${closed.length} closed-loop windows still ramping up (first half < ${RAMPING} x the second)${which ? `: ${which}` : ''}`,
  ];
}
