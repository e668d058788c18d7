// Makes sure the independent peers of the interop tests are installed before
// `pnpm test`: pyzmq for Debian's python3 (package python3-zmq), the
// Prometheus client's parser for the cli's metrics test
// (python3-prometheus-client), and the `ip` command (iproute2) that the
// beacon test across two network namespaces needs. On a fresh Debian machine
// run as root it installs the packages; otherwise it says what to install,
// and the tests fail with the same advice.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const python = process.env.ZKIT_TEST_PYTHON ?? "/usr/bin/python3";
const hasPyzmq = () => spawnSync(python, ["-c", "import zmq"], { stdio: "ignore" }).status === 0;

if (!hasPyzmq()) {
  const root = process.getuid?.() === 0;
  if (root && existsSync("/usr/bin/apt-get") && !process.env.ZKIT_TEST_PYTHON) {
    console.log("interop tests need pyzmq: installing Debian's python3-zmq");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "python3-zmq"], { stdio: "inherit", env }).status === 0;
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
      install();
    }
  }
  if (hasPyzmq()) {
    console.log(`pyzmq ${execFileSync(python, ["-c", "import zmq; print(zmq.__version__)"], { encoding: "utf8" }).trim()} ready for the interop tests`);
  } else {
    console.warn(
      `warning: ${python} has no pyzmq, so the interop tests will fail: install it with ` +
        "`sudo apt-get install python3-zmq` (Debian, Ubuntu) or set ZKIT_TEST_PYTHON to a python3 with pyzmq",
    );
  }
}

// the cli's metrics test scrapes with the Prometheus project's own parser
const hasPromClient = () => spawnSync(python, ["-c", "import prometheus_client.parser"], { stdio: "ignore" }).status === 0;
if (!hasPromClient()) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get") && !process.env.ZKIT_TEST_PYTHON) {
    console.log("the metrics test needs prometheus_client: installing Debian's python3-prometheus-client");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "python3-prometheus-client"], { stdio: "inherit", env }).status === 0;
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
      install();
    }
  }
  if (!hasPromClient()) {
    console.warn(
      `warning: ${python} has no prometheus_client, so the cli's metrics test will fail: install it with ` +
        "`sudo apt-get install python3-prometheus-client` (Debian, Ubuntu) or set ZKIT_TEST_PYTHON to a python3 that has it",
    );
  }
}

const hasIp = () => spawnSync("ip", ["-V"], { stdio: "ignore" }).status === 0;
if (!hasIp()) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log("the network-namespace beacon test needs the ip command: installing Debian's iproute2");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "iproute2"], { stdio: "inherit", env }).status === 0;
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
      install();
    }
  }
  if (!hasIp()) console.warn("warning: no `ip` command, so the network-namespace beacon test will fail: install iproute2 (`sudo apt-get install iproute2`)");
}
