/** FFN Lens: Show Panel (also the status bar item's click): the open panel, the last run, or a new exploration. */
import { FfnPanel } from '../panel/FfnPanel';
import type { CommandDeps } from './deps';
import { explore } from './explore';

export async function showPanel(deps: CommandDeps): Promise<boolean> {
  if (FfnPanel.instance) {
    FfnPanel.instance.reveal();
    return true;
  }
  if (deps.session.result) {
    FfnPanel.createOrShow(deps.context.extensionUri, deps.session);
    return true;
  }
  const outcome = await explore(deps);
  return !!outcome?.ok;
}
