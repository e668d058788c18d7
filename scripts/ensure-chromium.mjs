// Makes sure the browser of the site's check (docs/test/site.test.ts) is
// installed: Debian's chromium, at /usr/bin/chromium (or ZKIT_CHROMIUM). On a
// Debian machine run as root it installs the package; otherwise it says what
// to install, and the site check fails with the same advice.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = process.env.ZKIT_CHROMIUM ?? "/usr/bin/chromium";

if (!existsSync(chromium)) {
  const root = process.getuid?.() === 0;
  if (root && existsSync("/usr/bin/apt-get") && !process.env.ZKIT_CHROMIUM) {
    console.log("the site check needs a browser: installing Debian's chromium");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env }).status === 0;
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
      install();
    }
  }
}
if (existsSync(chromium)) {
  const version = spawnSync(chromium, ["--version"], { encoding: "utf8" }).stdout?.trim();
  console.log(`${version || chromium} ready for the site check`);
} else {
  console.warn(
    `warning: no browser at ${chromium}, so the site check will fail: install it with \`sudo apt-get install chromium\` (Debian) or set ZKIT_CHROMIUM to a Chromium or Chrome binary`,
  );
}
