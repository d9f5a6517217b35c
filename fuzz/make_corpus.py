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


if __name__ == '__main__':
    main()
