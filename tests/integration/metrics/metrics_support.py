"""Reading Passeur's /metrics in tests: fetch the exposition and parse it into samples."""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "admin"))

from admin_support import admin  # noqa: E402

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Exposition:
    """The samples of one scrape: name -> list of (labels dict, value)."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise AssertionError("unparsable exposition line: %r" % line)
            labels = dict(_LABEL.findall(m.group(2) or ""))
            self.samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))

    def series(self, name, **match):
        return [(l, v) for l, v in self.samples.get(name, [])
                if all(l.get(k) == str(want) for k, want in match.items())]

    def value(self, name, **match):
        """The one sample matching `match` (an assertion error when not exactly one)."""
        found = self.series(name, **match)
        if len(found) != 1:
            raise AssertionError("%d samples of %s%r, expected 1" % (len(found), name, match))
        return found[0][1]

    def total(self, name, **match):
        return sum(v for _, v in self.series(name, **match))


def scrape(proxy, token=None):
    r = admin(proxy, "GET", "/metrics", token)
    if r.status != 200:
        raise AssertionError("GET /metrics: %d %r" % (r.status, r.body[:200]))
    return Exposition(r.body.decode())
