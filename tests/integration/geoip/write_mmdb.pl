#!/usr/bin/perl
# Writes a small MaxMind database for the tests: write_mmdb.pl OUT NETWORK=CC ...
# e.g. write_mmdb.pl test.mmdb 127.0.0.2/32=DE 127.0.1.0/24=FR ::2/128=JP
# Loopback and other reserved networks are kept (remove_reserved_networks => 0), and IPv4
# addresses are reachable through IPv6 lookups too (alias_ipv6_to_ipv4).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, @entries) = @ARGV;
die "usage: $0 OUT NETWORK=CC ...\n" unless $out && @entries;
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6,
    record_size => 24,
    database_type => 'Passeur-Test-Country',
    languages => ['en'],
    description => { en => 'Passeur test database' },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4 => 1,
    map_key_type_callback => sub { { country => 'map', iso_code => 'utf8_string' }->{ $_[0] } },
);
for my $e (@entries) {
    my ($network, $code) = split /=/, $e;
    $tree->insert_network($network, { country => { iso_code => $code } });
}
open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!";
$tree->write_tree($fh);
close $fh or die "$out.tmp: $!";
rename "$out.tmp", $out or die "$out: $!";
