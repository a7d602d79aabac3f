// The code that `rexec run` needs and that every other subcommand may use, named in one
// place for the bundle. The program (main.ts) and each subcommand it loads on demand
// import this module. esbuild gives code that several entry points reach a chunk per
// combination of them; reached from all of them alike, this code lands in one chunk, so
// that `rexec run` loads two files instead of some twenty. Nothing imports from here.
import 'commander';
import '../../client/index.js';
import '../../common/fingerprint.js';
import '../../common/key-file.js';
import '../../common/lazy-modules.js';
import '../../common/loopback.js';
import '../../common/version.js';
import '../../errors.js';
import '../../protocol/constants.js';
import '../shared/arg-parsers.js';
import '../shared/cli-error.js';
import '../shared/errno-text.js';
import '../shared/exit-status.js';
import '../shared/io.js';
import '../shared/output-failure.js';
import './connection-options.js';
import './failure-message.js';
import './forward-streams.js';
import './hosts/settings.js';
import './open-client.js';
import './remote-command.js';
import './run/run-hosts.js';
import './run/run-program.js';
import './signals.js';
