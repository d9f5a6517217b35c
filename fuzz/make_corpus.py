#!/usr/bin/python3
"""Writes the seed corpora of fuzz/corpus/<target>/ from the unit tests' inputs: the string
literals of the parsers' tests (adjacent literals joined), and for the record layer, scripts in
records_fuzzer.cpp's input format that replay the record layer tests' cases. Run from the
source root: python3 fuzz/make_corpus.py"""

import hashlib
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)')
SIMPLE = {'r': '\r', 'n': '\n', 't': '\t', '0': '\0', '\\': '\\', '"': '"', "'": "'"}


def unescape(s):
    def one(m):
        e = m.group(1)
        if e[0] == 'x':
            return chr(int(e[1:], 16))
        if e[0] in '01234567' and len(e) > 1:
            return chr(int(e, 8))
        return SIMPLE.get(e, e)
    return ESCAPE.sub(one, s)


def literals(path):
    """Each run of adjacent string literals in a C++ file, joined, as bytes."""
    text = open(os.path.join(ROOT, path), encoding='utf-8').read()
    text = re.sub(r'^#include.*$', '', text, flags=re.M)
    out, run, end = [], [], None
    for m in LITERAL.finditer(text):
        between = text[end:m.start()] if end is not None else ''
        if run and re.fullmatch(r'\s*(//[^\n]*\s*)*', between):
            run.append(unescape(m.group(1)))
        else:
            if run:
                out.append(''.join(run))
            run = [unescape(m.group(1))]
        end = m.end()
    if run:
        out.append(''.join(run))
    return [s.encode('latin-1') for s in out if s]


def write(target, seeds):
    d = os.path.join(ROOT, 'fuzz', 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(d, name), 'wb') as f:
            f.write(s)


def records():
    """records_fuzzer scripts: mode byte, read size byte, then operations."""
    def sealed(type_, content):
        return bytes([0, type_]) + struct.pack('>H', len(content)) + content

    def padded(type_, content, padding):
        return bytes([1, type_, len(content)]) + content + struct.pack('>H', padding)

    def raw(b):
        return bytes([2, len(b)]) + b

    read = bytes([3])
    key_update = bytes([4, 1])
    key_update_requested = bytes([4, 0])

    def inner(b, outer=None):
        return (bytes([5, 0, outer]) if outer is not None else bytes([5, 1])) + bytes([len(b)]) + b

    def server_write(n):
        return bytes([6]) + struct.pack('>H', n) + b'w' * min(n, 64)

    hello = b'GET / HTTP/1.1\r\nHost: a\r\n\r\n'
    scripts = []
    for mode in (0, 1, 2, 3, 4, 5, 1 | 16, 1 | 8, 0 | 8):
        for size in (0, 1, 200):
            scripts.append(bytes([mode, size]) + sealed(23, hello) + read + sealed(23, b'x' * 300))
        scripts.append(bytes([mode, 50]) + sealed(23, b'a') + sealed(21, b'\x01\x00'))  # close_notify
        scripts.append(bytes([mode, 50]) + sealed(21, b'\x02\x28'))  # fatal alert
        scripts.append(bytes([mode, 50]) + sealed(21, b'\x01'))  # malformed alert
        scripts.append(bytes([mode, 50]) + sealed(21, b'\x01\x5a') * 5)  # warnings / user_canceled
        scripts.append(bytes([mode, 50]) + sealed(23, b'') * 40)  # empty records
        scripts.append(bytes([mode, 50]) + sealed(20, b'\x01'))  # ChangeCipherSpec
        scripts.append(bytes([mode, 50]) + sealed(22, b'\x14\x00\x00\x0c' + b'f' * 12))
        # Contents past the end of the input are zeros: the longest plaintexts, and one more.
        scripts.append(bytes([mode, 255]) + sealed(23, hello) + bytes([0, 23, 0x40, 0x00]))
        scripts.append(bytes([mode, 255]) + sealed(23, hello) + bytes([0, 23, 0x40, 0x01]))
        scripts.append(bytes([mode, 50]) + key_update + sealed(23, hello) + key_update_requested +
                       server_write(100) + sealed(23, hello))
        scripts.append(bytes([mode, 50]) + sealed(22, b'\x18') + sealed(22, b'\x00\x00\x01\x00') +
                       sealed(23, hello))  # KeyUpdate in 1 + 4 bytes
        scripts.append(bytes([mode, 50]) + sealed(22, b'\x18\x00') + sealed(22, b'\x00\x01') +
                       sealed(23, b'q') + sealed(22, b'\x00'))  # 2 + 2, then data inside it
        scripts.append(bytes([mode, 50]) + padded(23, hello, 300) + inner(b'\x00' * 20) +
                       inner(b'hi\x16', 23))
        scripts.append(bytes([mode, 9]) + raw(b'\x17\x03\x03\x40\x11') + raw(b'\x16\x03\x01\x00\x05'))
        scripts.append(bytes([mode, 9]) + raw(b'\x17\x03\x03\x41\x01' + b'\x00' * 16))
        scripts.append(bytes([mode, 9]) + sealed(23, hello) + bytes([6, 0x9c, 0x40]))
    return scripts


RAW = re.compile(r'R"([^(\s]*)\((.*?)\)\1"', re.S)


def raw_literals(path):
    """The raw string literals R"tag(...)tag" of a C++ file, as bytes."""
    text = open(os.path.join(ROOT, path), encoding='utf-8').read()
    return [m.group(2).encode() for m in RAW.finditer(text)]


def config():
    """config_fuzzer: the config tests' texts, the example configs and the README's, and the
    duration and size strings of the units tests."""
    d = os.path.join(ROOT, 'tests', 'unit', 'proxy', 'config')
    pool = b'route = [{ pool = "p" }]\nlistener = [{ listen = "127.0.0.1:8080" }]\n[pool.p]\n'
    seeds = []
    for name in sorted(os.listdir(d)):
        path = os.path.join('tests', 'unit', 'proxy', 'config', name)
        for text in raw_literals(path):
            seeds.append(pool + text if name == 'health_config_test.cpp' else text)
        if name in ('units_test.cpp', 'listener_tls_config_test.cpp'):
            seeds += [s for s in literals(path) if len(s) <= 64 or b'=' in s]
    for name in ('deploy/debian/passeur.toml', 'deploy/examples/coop-edge.toml',
                 'deploy/examples/coop.toml', 'deploy/examples/demo.toml'):
        seeds.append(open(os.path.join(ROOT, name), 'rb').read())
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    seeds += [m.encode() for m in re.findall(r'```toml\n(.*?)```', readme, re.S)]
    return seeds


def admin_api():
    """admin_api_fuzzer: a context byte, then the API tests' requests as heads."""
    calls = re.findall(r'call\("([A-Z]+)", "([^"]*)"(?:, ([^)]*))?\)',
                       open(os.path.join(ROOT, 'tests/unit/proxy/admin/api_test.cpp')).read())
    seeds = []
    for method, target, auth in calls:
        head = f'{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n'.encode()
        for flags in (0, 1, 4, 8):
            token = b'Authorization: Bearer 0123456789abcdef0123\r\n' if auth or flags & 1 else b''
            seeds.append(bytes([flags]) + head + token + b'\r\n')
    seeds.append(bytes([1]) + b'GET /api/v1/pools HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n')
    seeds.append(bytes([0]) + b'POST /api/v1/pools/cloud/nodes/node2/drain HTTP/1.1\r\n\r\n'
                 b'GET /api/v1/pools/cloud/nodes/node2 HTTP/1.1\r\n\r\n')
    seeds.append(bytes([0]) + b'POST /api/v1/reload HTTP/1.1\r\nContent-Length: 0\r\n\r\n'
                 b't.toml:1:1: bad\nt.toml:2:1: worse')
    return seeds


def geo_database():
    """geo_database_fuzzer: MaxMind's small test databases (shared/testdata/geoip beside the
    repository, Apache-2.0 or MIT), whole and cut short."""
    d = os.path.join(ROOT, '..', 'shared', 'testdata', 'geoip')
    seeds = []
    for name in ('MaxMind-DB-test-ipv4-24.mmdb', 'MaxMind-DB-test-mixed-24.mmdb',
                 'GeoLite2-Country-Test.mmdb'):
        data = open(os.path.join(d, name), 'rb').read()
        seeds += [data, data[:len(data) // 2], data[:-40]]
    return seeds


def h2_frames():
    """h2_frames_fuzzer inputs: a byte that sets the read size, then a client's frames after its
    preface (python3-h2 writes them): requests with and without bodies, trailers, cookies,
    CONTINUATION, window updates, PING, SETTINGS, resets, a GOAWAY."""
    import h2.config
    import h2.connection
    import h2.settings
    seeds = []

    def conn():
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                 header_encoding='utf-8'))
        c.initiate_connection()
        return c

    def frames(c):
        data = c.data_to_send()
        preface = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
        return data[len(preface):] if data.startswith(preface) else data

    get = [(':method', 'GET'), (':scheme', 'https'), (':authority', 'cloud.example.coop'),
           (':path', '/index.php?x=1'), ('user-agent', 'curl/7.88'), ('cookie', 'a=1'),
           ('cookie', 'PASSEUR_NODE=0123456789abcdef'), ('accept', '*/*')]
    post = [(':method', 'POST'), (':scheme', 'https'), (':authority', 'mail.example.coop'),
            (':path', '/?_task=login'), ('content-type', 'application/x-www-form-urlencoded')]
    for step in (0, 7, 63):
        c = conn()
        c.send_headers(1, get, end_stream=True)
        seeds.append(bytes([step]) + frames(c))
        c = conn()
        c.send_headers(1, post + [('content-length', '11')])
        c.send_data(1, b'_user=alice', end_stream=True)
        c.send_headers(3, get, end_stream=True)
        c.reset_stream(3)
        seeds.append(bytes([step]) + frames(c))
        c = conn()
        c.send_headers(1, post + [('te', 'trailers')])
        c.send_data(1, b'x' * 100)
        c.send_headers(1, [('x-checksum', 'abc'), ('grpc-status', '0')], end_stream=True)
        c.ping(b'12345678')
        c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
        c.increment_flow_control_window(65535)
        c.close_connection()
        seeds.append(bytes([step]) + frames(c))
    # A big header list, split into CONTINUATION frames by a small frame size.
    c = conn()
    c.max_outbound_frame_size = 16384
    c.send_headers(1, get + [('x-big-%d' % i, 'v' * 300) for i in range(80)], end_stream=True)
    seeds.append(b'\x10' + frames(c))
    return seeds


def main():
    write('records_fuzzer', records())
    write('proxy_header_fuzzer',
          [s for s in literals('tests/unit/proxy/tcp/proxy_header_test.cpp') if b'PROXY' in s or
           s.startswith(b'\r\n\r\n')] +
          # round trips: flags byte, then addresses, ports, TLS strings and a payload
          [bytes([f]) + bytes(range(40)) + b'\x07TLSv1.3\x16TLS_AES_128_GCM_SHA256\x10imap.example.org'
           + b'\x05hello' for f in range(32)])
    write('chunked_fuzzer', [s for s in literals('tests/unit/proxy/http/chunked_decoder_test.cpp')
                             if b'\r\n' in s])
    write('message_head_fuzzer', [s for s in literals('tests/unit/proxy/http/message_head_test.cpp')
                                  if b'HTTP/' in s or b': ' in s])
    write('config_fuzzer', config())
    write('admin_api_fuzzer', admin_api())
    write('geo_database_fuzzer', geo_database())
    write('h2_frames_fuzzer', h2_frames())


if __name__ == '__main__':
    main()
