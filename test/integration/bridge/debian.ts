/**
 * The stock clients the bridge tests drive, from Debian: `mosquitto-clients` (mosquitto_pub,
 * mosquitto_sub) and `python3-paho-mqtt` (for Debian's /usr/bin/python3, not the python3 that
 * may come first on PATH). Installed when missing: `apt-get update` then `apt-get install`, under
 * an flock so that test files running in parallel install once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's interpreter: the one python3-paho-mqtt installs into. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const PACKAGES = ['mosquitto-clients', 'python3-paho-mqtt'];
const LOCK = '/tmp/stratus-bridge-tests-apt.lock';

const CHECK = `command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null && ${DEBIAN_PYTHON} -c 'import paho.mqtt.client' 2>/dev/null`;
const INSTALL =
  `${CHECK} || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && ` +
  `apt-get install -y -qq --no-install-recommends ${PACKAGES.join(' ')}; }`;

let installed: Promise<void> | undefined;

/** Resolves once mosquitto_pub/sub and paho are available; installs them when missing. */
export function ensureStockClients(): Promise<void> {
  installed ??= (async () => {
    try {
      await run('sh', ['-c', CHECK]);
      return;
    } catch {
      // missing: install below
    }
    try {
      await run('flock', [LOCK, 'sh', '-c', INSTALL], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`could not install ${PACKAGES.join(', ')} with apt-get: ${stderr?.trim() || String(error)}`, { cause: error });
    }
  })();
  return installed;
}
