"""Reading Passeur's /metrics in tests: fetch the exposition and parse it into samples."""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "admin"))

from admin_support import admin  # noqa: E402

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


class Exposition:
    """A parsed text exposition: samples [(name, {labels}, value)], types {family: type}."""

    def __init__(self, text):
        self.text = text
        self.samples = []
        self.types = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise AssertionError("unparsable exposition line %r" % line)
            labels = {}
            rest = m.group(2) or ""
            pos = 0
            while pos < len(rest):
                lm = _LABEL.match(rest, pos)
                if not lm:
                    raise AssertionError("unparsable labels in %r" % line)
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def series(self, name, **match):
        return [(labels, v) for n, labels, v in self.samples
                if n == name and all(labels.get(k) == str(x) for k, x in match.items())]

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
