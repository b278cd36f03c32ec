// The `ffn-lens` command line (package.json `bin`, built to dist/cli.js). See src/cli/main.ts.
import { main } from './cli/main';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
