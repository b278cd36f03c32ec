/**
 * The CLI's top level: parse, dispatch, print, and turn every failure into one `error:` line with
 * exit status 1 (bad input) or 2 (bad usage). Nothing thrown here ever reaches the user as a stack.
 */
import { describeError, isFfnLensError } from '../core/errors';
import { DEFAULT_MAX_STATS_BYTES, inspectFile } from '../pipeline';
import { engineName, runLayerOnEngine } from '../pipeline/engineRun';
import { createCliEngine } from './engine';
import { runModelCommand, tokenizeCommand } from './model';
import { neuronCommand, scanCommand, searchCommand } from './neuron';
import { scoreCommand } from './score';
import { compareCommand } from './compare';
import { parseArgs, type InspectCommand, type RunCommand } from './args';
import { inspectToJson, runToJson } from './json';
import { inspectToText, runToText } from './text';
import { USAGE } from './usage';
import { version } from '../../package.json';

/** Where the CLI writes; tests may pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Exit statuses of the contract. */
export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;

/** Runs one command line (argv without `node cli.js`) and resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (io === processIo) installProcessGuards();
  try {
    const cmd = parseArgs(argv);
    switch (cmd.command) {
      case 'help':
        io.stdout(USAGE);
        return EXIT_OK;
      case 'version':
        io.stdout(`${version}\n`);
        return EXIT_OK;
      case 'inspect':
        return await inspect(cmd, io);
      case 'run':
        await run(cmd, io);
        return EXIT_OK;
      case 'runModel':
        await runModelCommand(cmd, io);
        return EXIT_OK;
      case 'tokenize':
        await tokenizeCommand(cmd, io);
        return EXIT_OK;
      case 'neuron':
        await neuronCommand(cmd, io);
        return EXIT_OK;
      case 'scan':
        await scanCommand(cmd, io);
        return EXIT_OK;
      case 'search':
        await searchCommand(cmd, io);
        return EXIT_OK;
      case 'score':
        await scoreCommand(cmd, io);
        return EXIT_OK;
      case 'compare':
        await compareCommand(cmd, io);
        return EXIT_OK;
    }
  } catch (e) {
    io.stderr(`error: ${errorLine(e)}\n`);
    return isFfnLensError(e) && e.kind === 'usage' ? EXIT_USAGE : EXIT_INPUT;
  }
}

async function run(cmd: RunCommand, io: CliIo): Promise<void> {
  const engine = createCliEngine(cmd.engine);
  let result;
  try {
    const request = { file: cmd.file, layer: cmd.layer, activation: cmd.activation, inputs: cmd.inputs, topK: cmd.topK, threshold: cmd.threshold };
    result = await runLayerOnEngine(request, engine, { computeReady: engine.ready() });
  } finally {
    await engine.dispose();
  }
  if (cmd.json) {
    const doc = runToJson(result, cmd.full, engineName(engine));
    warn(io, doc.warnings);
    io.stdout(JSON.stringify(doc) + '\n');
  } else {
    warn(io, result.warnings);
    io.stdout(runToText(result));
  }
}

/** Prints the listing; exit status 1 when some entry could not be read (they are all listed). */
async function inspect(cmd: InspectCommand, io: CliIo): Promise<number> {
  const result = await inspectFile(cmd.file, {
    stats: cmd.stats !== 'off',
    maxStatsBytes: cmd.stats === 'auto' ? DEFAULT_MAX_STATS_BYTES : undefined,
  });
  if (result.statsSkipped) io.stderr(`note: ${oneLine(result.statsSkipped)}\n`);
  if (cmd.json) {
    const doc = inspectToJson(result);
    warn(io, doc.warnings);
    io.stdout(JSON.stringify(doc) + '\n');
  } else {
    io.stdout(inspectToText(result));
  }
  const n = result.problems.length;
  if (n === 0) return EXIT_OK;
  io.stderr(`error: ${oneLine(`${result.file}: ${n} tensor${n === 1 ? '' : 's'} cannot be read: ${result.problems.map((p) => p.message).join('; ')}`)}\n`);
  return EXIT_INPUT;
}

function warn(io: CliIo, warnings: readonly string[]): void {
  for (const w of warnings) io.stderr(`warning: ${oneLine(w)}\n`);
}

/** The text after `error: `: the file and the problem for known errors, `internal: ...` otherwise. */
export function errorLine(e: unknown): string {
  if (isFfnLensError(e)) return oneLine(describeError(e));
  const sys = e as NodeJS.ErrnoException | undefined;
  if (sys && typeof sys.code === 'string' && typeof sys.path === 'string') {
    const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory, not a file' };
    return oneLine(`${sys.path}: ${why[sys.code] ?? sys.message}`);
  }
  return oneLine(`internal: ${describeError(e)}`);
}

const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();

let guarded = false;
/** Quiet exit when stdout is closed early (`| head`); last-resort `error: internal:` for anything else. */
function installProcessGuards(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_OK);
    process.stderr.write(`error: internal: ${oneLine(e.message)}\n`);
    process.exit(EXIT_INPUT);
  });
  const fatal = (e: unknown): void => {
    process.stderr.write(`error: ${errorLine(e)}\n`);
    process.exit(EXIT_INPUT);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
