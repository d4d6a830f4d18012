/**
 * The campaigns' background pass, run by every worker node (and after a start, at once): a
 * scheduled campaign whose time has come starts, a running one is expanded (or its interrupted
 * expansion resumed), and one fully expanded with nothing left to send is completed. Every step
 * runs on the campaign's locked row, so passes on several nodes never do one step twice.
 */
import type { Clock } from '../clock.ts';
import { campaignHasPending } from '../deliveries/campaign-deliveries.ts';
import type { Logger } from '../logger.ts';
import { activeCampaigns, lockCampaign, moveCampaign } from './campaign-store.ts';
import { expandCampaign } from './expand.ts';
import type { CampaignDeps } from './recipient-plan.ts';

export async function runCampaignPass(deps: CampaignDeps): Promise<void> {
  const now = deps.now?.() ?? new Date();
  for (const c of await activeCampaigns(deps.db)) {
    if (c.state === 'scheduled' && c.startAt && c.startAt <= now) {
      await deps.db.transaction(async (tx) => {
        const row = await lockCampaign(tx, c.id);
        if (row.state === 'scheduled') await moveCampaign(tx, row, 'start', { startedAt: row.startAt });
      });
    } else if (c.state !== 'running') {
      continue;
    }
    if (!(await expandCampaign(deps, c.id))) continue;
    if (await campaignHasPending(deps.db, c.id)) continue;
    await deps.db.transaction(async (tx) => {
      const row = await lockCampaign(tx, c.id);
      // Checked again under the lock: a resume or a late page may have queued more meanwhile.
      if (row.state === 'running' && row.expanded && !(await campaignHasPending(tx, c.id))) {
        await moveCampaign(tx, row, 'complete', { finishedAt: now });
      }
    });
  }
}

export interface CampaignRunner {
  /** Run a pass now (a campaign was just started), or right after the one under way. */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Passes at start, every `intervalMs` of the clock and on `wake`, one at a time: a wake during a
 * pass runs one more after it, as the pass may have read the campaigns before the start.
 */
export function startCampaignRunner(o: {
  deps: CampaignDeps;
  intervalMs: number;
  logger: Pick<Logger, 'warn'>;
  clock: Clock;
}): CampaignRunner {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = runCampaignPass(o.deps)
      .catch((err: Error) => o.logger.warn({ err }, 'campaign pass failed; will retry'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  let cancel = (): void => {};
  const arm = (): void => {
    cancel = o.clock.setTimeout(() => {
      arm();
      run();
    }, o.intervalMs);
  };
  run();
  arm();
  return {
    wake: run,
    async stop() {
      stopped = true;
      cancel();
      while (running) await running;
    },
  };
}
