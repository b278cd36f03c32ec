/** FFN Lens: Show Log. */
import { log } from '../log';

export function showLog(): boolean {
  log().show(true);
  return true;
}
