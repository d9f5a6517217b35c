"""The Debian package: `cpack -G DEB` from the build under test makes passeur_<version>_<arch>.deb
with the binary, the conffile /etc/passeur/passeur.toml, the systemd unit, the sysusers file, the
man page and the deploy files; its control file declares the runtime libraries (dpkg-shlibdeps);
lintian finds no error in it; and, unpacked into a temporary directory (nothing is installed on
this machine), its config passes its own `passeur check` and its help documents every
subcommand.

The package is built once for all tests, staging area included, into the tests' own temporary
directory: the build directory gains only the install step's install_manifest.txt."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import SOURCE_DIR, main, passeur_binary, require_tool  # noqa: E402

SUBCOMMANDS = ["run", "check", "ctl", "geoip", "version", "help"]
CTL_COMMANDS = ["pools", "drain", "maintenance", "ready", "reload"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    return p.returncode, p.stdout, p.stderr


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="passeur-deb-")
        build_dir = os.path.dirname(os.path.abspath(passeur_binary()))
        config = os.path.join(build_dir, "CPackConfig.cmake")
        if not os.path.exists(config):
            raise AssertionError("no CPackConfig.cmake in %s: configure the build first"
                                 % build_dir)
        out_dir = os.path.join(cls.tmp, "out")
        rc, out, err = run([require_tool("cpack"), "-G", "DEB", "--config", config,
                            "-B", out_dir], cwd=build_dir, timeout=600)
        if rc != 0:
            raise AssertionError("cpack failed (%d)\n%s\n%s" % (rc, out, err))
        debs = glob.glob(os.path.join(out_dir, "*.deb"))
        if len(debs) != 1:
            raise AssertionError("expected one .deb in %s, found %r" % (out_dir, debs))
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        rc, out, err = run(["dpkg-deb", "-x", cls.deb, cls.root])
        if rc != 0:
            raise AssertionError("dpkg-deb -x failed: %s" % err)
        cls.binary = os.path.join(cls.root, "usr", "bin", "passeur")

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("PASSEUR_KEEP_TMP") == "1":
            sys.stderr.write("\npackage test directory: %s\n" % cls.tmp)
        else:
            shutil.rmtree(cls.tmp, True)

    def field(self, name):
        rc, out, err = run(["dpkg-deb", "-f", self.deb, name])
        self.assertEqual(rc, 0, err)
        return out.strip()

    def test_file_name_is_name_version_arch(self):
        rc, version, _ = run([passeur_binary(), "version"])
        version = version.split()[1]
        rc, arch, _ = run(["dpkg", "--print-architecture"])
        self.assertEqual(os.path.basename(self.deb),
                         "passeur_%s_%s.deb" % (version, arch.strip()))
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(self.field("Architecture"), arch.strip())
        self.assertEqual(self.field("Package"), "passeur")

    def test_contents(self):
        rc, out, err = run(["dpkg-deb", "-c", self.deb])
        self.assertEqual(rc, 0, err)
        entries = {}
        for line in out.splitlines():
            parts = line.split(None, 5)
            name = parts[5].split(" -> ")[0]
            entries[name.lstrip(".").rstrip("/") or "/"] = (parts[0], parts[1])
        expected = {
            "/usr/bin/passeur": "-rwxr-xr-x",
            "/etc/passeur/passeur.toml": "-rw-r--r--",
            "/lib/systemd/system/passeur.service": "-rw-r--r--",
            "/usr/lib/sysusers.d/passeur.conf": "-rw-r--r--",
            "/usr/lib/passeur/make-placeholder-certificate": "-rwxr-xr-x",
            "/usr/share/man/man1/passeur.1.gz": "-rw-r--r--",
            "/usr/share/doc/passeur/copyright": "-rw-r--r--",
            "/usr/share/doc/passeur/changelog.gz": "-rw-r--r--",
            "/usr/share/passeur/examples/coop-edge.toml": "-rw-r--r--",
            "/usr/share/passeur/examples/coop.toml": "-rw-r--r--",
            "/usr/share/doc/passeur/MIGRATING.md": "-rw-r--r--",
            "/usr/share/doc/passeur/APPLICATIONS.md": "-rw-r--r--",
        }
        for path, mode in expected.items():
            self.assertIn(path, entries, "%s missing from the package" % path)
            self.assertEqual(entries[path], (mode, "root/root"), path)
        # Whatever deploy/grafana, deploy/prometheus and deploy/keepalived hold is shipped,
        # file for file.
        for d in ["grafana", "prometheus", "keepalived"]:
            src = os.path.join(SOURCE_DIR, "deploy", d)
            for dirpath, _, files in os.walk(src):
                for f in files:
                    rel = os.path.relpath(os.path.join(dirpath, f), src)
                    self.assertIn("/usr/share/passeur/%s/%s" % (d, rel), entries)
        # Nothing lands in /usr/local or in the build tree.
        self.assertFalse([p for p in entries if p.startswith(("/usr/local", SOURCE_DIR))])

    def test_control_declares_runtime_libraries(self):
        depends = self.field("Depends")
        # From dpkg-shlibdeps: the shared libraries the binary links.
        for lib in ["libc6", "libstdc++6", "libssl3", "libsystemd0", "libboost-json1.81.0"]:
            self.assertRegex(depends, r"(^|, )%s( \(|,|$)" % re.escape(lib), depends)
        # For the maintainer scripts.
        for pkg in ["adduser", "openssl"]:
            self.assertIn(pkg, depends)
        self.assertEqual(self.field("Section"), "net")
        self.assertTrue(self.field("Maintainer"))
        self.assertTrue(self.field("Description"))

    def test_conffile_and_maintainer_scripts(self):
        rc, info, err = run(["dpkg-deb", "-I", self.deb])
        self.assertEqual(rc, 0, err)
        for member in ["conffiles", "postinst", "prerm", "postrm", "control", "md5sums"]:
            self.assertRegex(info, r"\b%s\b" % member)
        rc, conffiles, err = run(["dpkg-deb", "-I", self.deb, "conffiles"])
        self.assertEqual(conffiles.split(), ["/etc/passeur/passeur.toml"])
        rc, postinst, err = run(["dpkg-deb", "-I", self.deb, "postinst"])
        self.assertIn("systemd-sysusers", postinst)
        self.assertIn("make-placeholder-certificate", postinst)
        rc, out, err = run(["sh", "-n", "-c", postinst])
        self.assertEqual(rc, 0, err)

    def test_dependencies_resolve_with_apt(self):
        # What `apt-get install ./passeur_*.deb` would do, simulated: nothing is installed.
        rc, out, err = run(["apt-get", "install", "--simulate", "-q", self.deb])
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"Inst passeur ")
        self.assertNotIn("unmet dependencies", out + err)

    def test_lintian_finds_no_error(self):
        lintian = require_tool("lintian")
        rc, out, err = run([lintian, "--tag-display-limit", "0", self.deb], timeout=600)
        tags = [l for l in (out + err).splitlines() if re.match(r"^[EWIP]: ", l)]
        errors = [l for l in tags if l.startswith("E: ")]
        warnings = [l for l in tags if l.startswith("W: ")]
        sys.stderr.write("\nlintian: %d errors, %d warnings\n%s\n"
                         % (len(errors), len(warnings), "\n".join(errors + warnings)))
        self.assertEqual(errors, [])

    def test_packaged_config_passes_packaged_check(self):
        # The postinst makes the placeholder certificate the example config serves; here its
        # helper makes it inside the unpacked tree, and the config's /etc/passeur/ paths are
        # pointed there. Nothing else is changed in the file.
        etc = os.path.join(self.root, "etc", "passeur")
        helper = os.path.join(self.root, "usr", "lib", "passeur", "make-placeholder-certificate")
        rc, out, err = run([helper, os.path.join(etc, "tls")])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(etc, "passeur.toml")) as f:
            text = f.read()
        self.assertIn("/etc/passeur/tls/placeholder.pem", text)
        checked = os.path.join(self.tmp, "passeur.toml")
        with open(checked, "w") as f:
            f.write(text.replace("/etc/passeur/", etc + "/"))
        rc, out, err = run([self.binary, "check", "-c", checked])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ok", out)
        # Its parts: the web edge of the co-op.
        for needle in ["tls = true", "redirect_to_https = true", "[pool.webmail.check]",
                       "[pool.cloud.check]", "/.well-known/acme-challenge/", "admin_listen",
                       "10.0.0.11"]:
            self.assertIn(needle, text)
        # Run twice, the helper keeps the certificate it made.
        with open(os.path.join(etc, "tls", "placeholder.pem")) as f:
            first = f.read()
        run([helper, os.path.join(etc, "tls")])
        with open(os.path.join(etc, "tls", "placeholder.pem")) as f:
            self.assertEqual(f.read(), first)

    def test_packaged_binary_runs(self):
        rc, out, err = run([self.binary, "version"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^passeur \d+\.\d+\.\d+")

    def test_help_documents_every_subcommand(self):
        rc, usage, err = run([self.binary, "--help"])
        self.assertEqual(rc, 0, err)
        for sub in SUBCOMMANDS:
            self.assertRegex(usage, r"passeur (\[)?%s\b" % sub)
        for sub in SUBCOMMANDS:
            rc, out, err = run([self.binary, "help", sub])
            self.assertEqual(rc, 0, "passeur help %s: %s" % (sub, err))
            self.assertIn("usage: passeur", out)
            self.assertIn(sub, out.splitlines()[0])
        rc, out, err = run([self.binary, "help", "ctl"])
        for cmd in CTL_COMMANDS:
            self.assertRegex(out, r"\b%s\b" % cmd)
        rc, out, err = run([self.binary, "help", "nosuch"])
        self.assertEqual(rc, 2)

    def test_man_page_documents_every_subcommand(self):
        man = os.path.join(self.root, "usr", "share", "man", "man1", "passeur.1.gz")
        rc, out, err = run(["man", "--warnings", "-l", "-Tutf8", man],
                           env=dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.strip(), "", "man page warnings")
        text = re.sub(r".\x08", "", out)  # overstrike bold and underline
        for sub in SUBCOMMANDS + CTL_COMMANDS:
            self.assertRegex(text, r"(?m)^\s+%s\b" % sub, "the man page lacks %s" % sub)
        for word in ["SIGHUP", "SIGTERM", "READY=1", "/etc/passeur/passeur.toml"]:
            self.assertIn(word, text)

    def test_unit_in_the_package_verifies(self):
        # systemd-analyze verify on the packaged unit, with the packaged binary and man page.
        unit = os.path.join(self.root, "lib", "systemd", "system", "passeur.service")
        with open(unit) as f:
            text = f.read().replace("/usr/bin/passeur", self.binary)
        copy = os.path.join(self.tmp, "passeur.service")
        with open(copy, "w") as f:
            f.write(text)
        rc, out, err = run([require_tool("systemd-analyze"), "verify", copy], cwd=self.tmp,
                           env=dict(os.environ,
                                    MANPATH=os.path.join(self.root, "usr", "share", "man")))
        self.assertEqual((rc, (out + err).strip()), (0, ""))


if __name__ == "__main__":
    main()
