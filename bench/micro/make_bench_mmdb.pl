#!/usr/bin/perl
# A country database much larger than MaxMind's test files, for BM_GeoLookupLarge
# (geoip_bench.cpp): N random IPv4 networks (/16 to /24) over 22 countries, written with
# Debian's libmaxmind-db-writer-perl. Same seed, same file.
#   perl bench/micro/make_bench_mmdb.pl /tmp/bench-country.mmdb 800000   # about 4 MB
#   PASSEUR_BENCH_MMDB=/tmp/bench-country.mmdb build/passeur_micro_bench --benchmark_filter=Geo
use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my @cc = qw(DE FR NL BE LU US GB CN RU BR IN JP KR SE NO DK FI PL CZ IT ES PT);
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
  database_type => 'Passeur-Bench-Country', languages => ['en'], description => { en => 'bench' },
  remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1,
  map_key_type_callback => sub { { country => 'map', iso_code => 'utf8_string' }->{ $_[0] } });
srand(7);
my $n = $ARGV[1] || 200000;
for my $i (1..$n) {
  my $a = int(rand(223)) + 1; my $b = int(rand(256)); my $c = int(rand(256));
  my $len = 16 + int(rand(9));
  my $ip = ($a << 24) | ($b << 16) | ($c << 8);
  $ip &= (0xffffffff << (32 - $len)) & 0xffffffff;
  my $net = join('.', ($ip >> 24) & 255, ($ip >> 16) & 255, ($ip >> 8) & 255, $ip & 255) . "/$len";
  $tree->insert_network($net, { country => { iso_code => $cc[$i % @cc] } });
}
open my $fh, '>:raw', $ARGV[0] or die; $tree->write_tree($fh); close $fh;
