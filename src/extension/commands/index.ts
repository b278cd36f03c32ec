/** Every command's handler in one place (ids in ../constants, contributions in package.json; extension.ts registers them). */
import { Commands, CommandId } from '../constants';
import { changeActivation } from './changeActivation';
import { chooseInputs } from './chooseInputs';
import { compareCheckpoints, compareWeights } from './compareCheckpoints';
import type { CommandDeps } from './deps';
import { explore } from './explore';
import { exploreModel } from './exploreModel';
import { traceSelection } from './traceSelection';
import { scanWorkspace } from './scanWorkspace';
import { exportTrace } from './exportTrace';
import { inspect } from './inspect';
import { lastRun } from './lastRun';
import { selectLayer } from './selectLayer';
import { showLog } from './showLog';
import { showPanel } from './showPanel';
import { ablateNeuron, getStarted, nextBlock, openNeuron, openSample, trySentence } from './walkthrough';

type Handler = (deps: CommandDeps, ...args: unknown[]) => unknown;

const HANDLERS: Record<CommandId, Handler> = {
  [Commands.explore]: explore,
  [Commands.exploreLayer]: (deps, uri, layer) => explore(deps, uri, { layer: typeof layer === 'number' ? layer : String(layer ?? '') || undefined }),
  [Commands.chooseInputs]: chooseInputs,
  [Commands.changeActivation]: changeActivation,
  [Commands.selectLayer]: selectLayer,
  [Commands.inspect]: inspect,
  [Commands.exportTrace]: exportTrace,
  [Commands.showLog]: showLog,
  [Commands.showPanel]: showPanel,
  [Commands.lastRun]: lastRun,
  [Commands.exploreModel]: exploreModel,
  [Commands.traceSelection]: traceSelection,
  [Commands.scanWorkspace]: scanWorkspace,
  [Commands.compareCheckpoints]: compareCheckpoints,
  [Commands.compareWeights]: compareWeights,
  [Commands.getStarted]: getStarted,
  [Commands.openSample]: openSample,
  [Commands.trySentence]: trySentence,
  [Commands.nextBlock]: nextBlock,
  [Commands.openNeuron]: openNeuron,
  [Commands.ablateNeuron]: ablateNeuron,
};

/** Runs command `id` with the arguments VS Code passed. */
export function runCommand(deps: CommandDeps, id: CommandId, args: unknown[]): unknown {
  return HANDLERS[id](deps, ...args);
}
