// Placeholder: the CLI lands with issue 2.
process.stderr.write('error: the CLI is not built yet\n');
process.exit(2);
