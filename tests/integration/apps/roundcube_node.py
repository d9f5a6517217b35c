"""One Roundcube node as Debian 12 ships it (roundcube-core, roundcube-sqlite3): php-fpm and nginx
on loopback ports picked at run time, everything Roundcube writes (its configuration, SQLite
database, logs, temp_dir) in the test's directory. The packaged files are used as installed:
the document root /var/lib/roundcube/public_html, the code in /usr/share/roundcube; the
configuration directory is the node's own (ROUNDCUBE_CONFIG_DIR, read by Roundcube's
iniset.php), holding the package's defaults.inc.php and a config.inc.php written here.
php-fpm's workers run as www-data, as the package expects; nginx answers static files itself
and passes *.php to php-fpm, as the nginx recipe of Roundcube's wiki does."""

import os
import secrets
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (LOOPBACK, ChildServer, free_port, nginx_command, nginx_main_conf,  # noqa: E402
                     nginx_temp_paths, read_text, require_tool, wait_port)

INSTALL = "/var/lib/roundcube"
PUBLIC_HTML = INSTALL + "/public_html"
PACKAGE_CONFIG = "/etc/roundcube"
SCHEMA = "/usr/share/roundcube/SQL/sqlite.initial.sql"
PHP_FPM = "/usr/sbin/php-fpm8.2"
WEB_USER = "www-data"


def php_value(v):
    """A PHP literal for a Python value (str, bool, int, list, dict)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(php_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "[" + ", ".join("%s => %s" % (php_value(k), php_value(x))
                               for k, x in v.items()) + "]"
    raise TypeError("no PHP form for %r" % (v,))


class PhpFpm(ChildServer):
    stop_timeout = 10

    def __init__(self, directory, config_dir):
        self.dir = directory
        self.port = free_port()
        self.conf = os.path.join(directory, "php-fpm.conf")
        self.log_path = os.path.join(directory, "php-fpm.log")
        with open(self.conf, "w") as f:
            f.write("""[global]
pid = {d}/php-fpm.pid
error_log = {d}/php-fpm.log
daemonize = no

[roundcube]
user = {user}
group = {user}
listen = {ip}:{port}
listen.allowed_clients = {ip}
pm = static
pm.max_children = 2
clear_env = yes
env[ROUNDCUBE_CONFIG_DIR] = {config}
catch_workers_output = yes
php_admin_value[error_log] = {d}/php-errors.log
php_admin_value[upload_tmp_dir] = {d}/temp
""".format(d=directory, user=WEB_USER, ip=LOOPBACK, port=self.port, config=config_dir))

    def start(self):
        require_tool(PHP_FPM)
        return self.spawn([PHP_FPM, "--nodaemonize", "--fpm-config", self.conf],
                          os.path.join(self.dir, "php-fpm.stderr"), self.port, "php-fpm",
                          wait_log=self.log_path, timeout=20)


class WebNginx(ChildServer):
    """nginx in front of php-fpm, logging each request's client address and the
    X-Forwarded-For it received."""

    stop_timeout = 10

    def __init__(self, directory, fpm_port, root):
        self.dir = directory
        self.port = free_port()
        self.conf = os.path.join(directory, "nginx.conf")
        self.error_log = os.path.join(directory, "nginx-error.log")
        self.access_log = os.path.join(directory, "nginx-access.log")
        main = nginx_main_conf(os.path.join(directory, "nginx.pid"), self.error_log)
        with open(self.conf, "w") as f:
            f.write(main + """http {{
    include /etc/nginx/mime.types;
    log_format fwd '$remote_addr "$request" $status xff="$http_x_forwarded_for" '
                   'proto="$http_x_forwarded_proto"';
    access_log {access} fwd;
{temp}
    server {{
        listen {ip}:{port};
        root {root};
        index index.php;
        client_max_body_size 64m;
        location ~ ^/(config|temp|logs|SQL|bin|installer)/ {{ deny all; }}
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi.conf;
            fastcgi_pass {ip}:{fpm};
        }}
    }}
}}
""".format(access=self.access_log, temp=nginx_temp_paths(directory + "/nginx-"), ip=LOOPBACK,
           port=self.port, root=root, fpm=fpm_port))

    def start(self):
        require_tool("nginx")
        return self.spawn(nginx_command(self.dir, self.conf, self.error_log),
                          os.path.join(self.dir, "nginx.stderr"), self.port, "nginx (roundcube)",
                          wait_log=self.error_log)

    def access_lines(self):
        return read_text(self.access_log).splitlines()


class RoundcubeNode:
    """Roundcube on 127.0.0.1:port (nginx + php-fpm). config: the config.inc.php settings
    besides the ones every node needs (database, logs, temp_dir, des_key)."""

    def __init__(self, workdir, name, config, files=(), plugins=None):
        """files: paths copied into the config directory (a CA certificate), readable by
        www-data there. plugins: {name: PHP source} of plugins of the test's own, enabled
        besides the config's."""
        self.name = name
        self.dir = os.path.join(workdir, "roundcube-" + name)
        self.config_dir = os.path.join(self.dir, "config")
        self.log_dir = os.path.join(self.dir, "logs")
        self.temp_dir = os.path.join(self.dir, "temp")
        self.db_dir = os.path.join(self.dir, "db")
        self.db_path = os.path.join(self.db_dir, "roundcube.db")
        for d in (self.config_dir, self.log_dir, self.temp_dir, self.db_dir):
            os.makedirs(d)
        os.chmod(workdir, 0o755)  # php-fpm's workers run as www-data
        os.chmod(self.dir, 0o755)
        for f in ("defaults.inc.php", "mimetypes.php"):
            os.symlink(os.path.join(PACKAGE_CONFIG, f), os.path.join(self.config_dir, f))
        for path in files:
            shutil.copy(path, self.config_dir)
        self.root = PUBLIC_HTML
        if plugins:
            self.root = self._install_tree(plugins)
            config = dict(config)
            config["plugins"] = list(config.get("plugins", [])) + list(plugins)
        settings = {
            "db_dsnw": "sqlite:///%s?mode=0640" % self.db_path,
            "des_key": secrets.token_hex(12),
            "log_driver": "file",
            "log_dir": self.log_dir + "/",
            "temp_dir": self.temp_dir + "/",
            "log_logins": True,
            "plugins": [],
            "skin": "elastic",
            "enable_installer": False,
        }
        settings.update(config)
        with open(os.path.join(self.config_dir, "config.inc.php"), "w") as f:
            f.write("<?php\n$config = [];\n")
            for k, v in settings.items():
                f.write("$config[%s] = %s;\n" % (php_value(k), php_value(v)))
        with open(SCHEMA) as f:
            schema = f.read()
        db = sqlite3.connect(self.db_path)
        db.executescript(schema)
        db.close()
        for d in (self.log_dir, self.temp_dir, self.db_dir):
            shutil.chown(d, WEB_USER, WEB_USER)
        shutil.chown(self.db_path, WEB_USER, WEB_USER)
        self.fpm = PhpFpm(self.dir, self.config_dir)
        self.nginx = None

    def _install_tree(self, plugins):
        """Roundcube's INSTALL_PATH of the node's own, made of links to the package's files
        but with a plugins directory that holds the test's plugins too (the package's
        public_html/index.php takes INSTALL_PATH from where it is, so it is copied). Returns
        the document root."""
        tree = os.path.join(self.dir, "install")
        os.makedirs(os.path.join(tree, "plugins"))
        os.makedirs(os.path.join(tree, "public_html", "program"))
        for name in ("index.php", "program", "skins", "SQL"):
            os.symlink(os.path.realpath(os.path.join(INSTALL, name)), os.path.join(tree, name))
        for name in os.listdir(os.path.join(INSTALL, "plugins")):
            os.symlink(os.path.realpath(os.path.join(INSTALL, "plugins", name)),
                       os.path.join(tree, "plugins", name))
        for name, source in plugins.items():
            os.makedirs(os.path.join(tree, "plugins", name))
            with open(os.path.join(tree, "plugins", name, name + ".php"), "w") as f:
                f.write(source)
        public = os.path.join(tree, "public_html")
        shutil.copy(os.path.join(PUBLIC_HTML, "index.php"), public)
        for name in ("plugins", "skins"):
            os.symlink(os.path.join("..", name), os.path.join(public, name))
        for name in ("js", "resources"):
            os.symlink(os.path.join("..", "..", "program", name),
                       os.path.join(public, "program", name))
        return public

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.nginx.port)

    def start(self):
        self.fpm.start()
        self.nginx = WebNginx(self.dir, self.fpm.port, self.root)
        self.nginx.start()
        wait_port(self.nginx.port, 10, self.nginx.proc, "nginx (roundcube)")
        return self

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        self.fpm.stop()

    def query(self, sql, *args):
        db = sqlite3.connect(self.db_path, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def log(self, name):
        """One of Roundcube's log files (userlogins, errors, imap, ...)."""
        return read_text(os.path.join(self.log_dir, name + ".log"))

    def logs(self):
        """Every log of the node, for an assertion's message."""
        out = []
        for path in sorted(os.listdir(self.log_dir)):
            out.append("--- %s\n%s" % (path, read_text(os.path.join(self.log_dir, path))[-3000:]))
        for path in ("php-errors.log", "php-fpm.log", "nginx-error.log"):
            out.append("--- %s\n%s" % (path, read_text(os.path.join(self.dir, path))[-3000:]))
        return "\n".join(out)
