// Root `pnpm db:*` scripts print only the tool's own output: without this, pnpm writes a
// "> exora-db@ db:verify ..." banner to stdout first, so `pnpm db:verify --json | jq` fails.
// Only those scripts are silenced; install, test and the rest keep pnpm's normal output.
function script(argv) {
  const args = argv.filter((a) => !a.startsWith('-'));
  const first = args[0] === 'run' || args[0] === 'run-script' ? args[1] : args[0];
  return first ?? '';
}

module.exports = {
  hooks: {
    updateConfig(config) {
      if (/^db:/.test(script(process.argv.slice(2)))) config.reporter = 'silent';
      return config;
    },
  },
};
