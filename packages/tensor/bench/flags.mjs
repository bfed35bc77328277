// Command-line flags of the tensor benches, one parser for all of them: `--name value` or `--name=value` for a flag
// that takes a value, `--name` alone for a switch. An unknown flag, a value missing or a switch given a value is an
// error that names it (exit 2), so a typo never runs the defaults silently; `--help` prints the usage line.
//
//   const f = parseFlags(process.argv.slice(2), { models: 'mobilenet_v2', reps: '8', profile: false }, USAGE);
//   f.models; // the value given, or 'mobilenet_v2'; f.profile: true when --profile was given

/**
 * @param {string[]} argv the arguments after the script's path
 * @param {Record<string, string | false>} spec each flag's default: a string for a flag that takes a value, `false`
 *   for a switch
 * @param {string} usage the usage line `--help` prints
 * @returns {Record<string, string | boolean>}
 */
export function parseFlags(argv, spec, usage) {
  const fail = (why) => {
    console.error(`${why}\nusage: ${usage}`);
    process.exit(2);
  };
  const out = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(`usage: ${usage}`);
      process.exit(0);
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a);
    if (!m || !Object.hasOwn(spec, m[1])) fail(`unknown option '${a}'`);
    const [, name, inline] = m;
    if (spec[name] === false) {
      if (inline !== undefined) fail(`--${name} takes no value, got '${a}'`);
      out[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) fail(`--${name} needs a value`);
    out[name] = value;
  }
  return out;
}
