"""The one URL policy: schemes, ports, origins and every resolved address."""
import pytest

from chalicelib.urls import CheckedUrl, Origin, UrlPolicy, UrlRejected, is_public_address


def resolving(*addresses):
    return lambda host, port: list(addresses)


PUBLIC = UrlPolicy(schemes=frozenset({"http", "https"}), resolve=resolving("93.184.215.14"))


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "192.0.0.8", "198.18.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "2002:a9fe:a9fe::", "64:ff9b::a9fe:a9fe", "::127.0.0.1", "::ffff:0:7f00:1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "64:ff9b:1::a9fe:a9fe", "fe80::1%eth0"])
def test_non_public_addresses_are_refused_ipv4_embedded_in_ipv6_too(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5",
                                     "2002:5db8:d70e::", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert is_public_address(address)


@pytest.mark.parametrize("url,why", [
    ("ftp://example.com/x", "must use http or https"),
    ("https://u:p@example.com/x", "credentials"),
    ("https://example.com:8443/x", "standard port"),
    ("http://example.com:443/x", "standard port"),
    ("https://kubernetes.default.svc/x", "public host"),
    ("https://intranet/x", "public host"),
    ("https://localhost/x", "public host"),
    ("https://printer.local/x", "public host"),
    ("http://[::ffff:0:7f00:1]/x", "loopback, private or reserved"),
    ("http:///x", "has no host"),
    ("http://example.com:99999/x", "not a valid URL"),
])
def test_refusals_say_why_without_repeating_the_url(url, why):
    with pytest.raises(UrlRejected) as err:
        PUBLIC.check(url)
    assert why in str(err.value) and "example" not in str(err.value)


def test_a_name_is_judged_by_every_address_it_resolves_to():
    assert PUBLIC.check("https://example.com/x.jpg") == CheckedUrl(
        "https", "example.com", 443, ("93.184.215.14",), "/x.jpg")
    rebinding = UrlPolicy(resolve=resolving("93.184.215.14", "169.254.169.254"))
    with pytest.raises(UrlRejected):
        rebinding.check("https://example.com/x.jpg")

    def nxdomain(host, port):
        raise OSError("no such name")
    with pytest.raises(UrlRejected, match="does not resolve"):
        UrlPolicy(resolve=nxdomain).check("https://example.com/x.jpg")


def test_origins_compare_scheme_host_and_port():
    policy = UrlPolicy(origins=(Origin.parse("https://replicate.delivery"),
                                Origin.parse("https://*.replicate.delivery")),
                       resolve=resolving("151.101.1.1"))
    policy.check("https://replicate.delivery/a.png")
    policy.check("https://pbxt.replicate.delivery/a.png")
    for url in ("http://replicate.delivery/a.png", "https://replicate.delivery:8443/a.png",
                "https://evilreplicate.delivery/a.png", "https://replicate.delivery.evil.com/a",
                "https://example.com/a.png"):
        with pytest.raises(UrlRejected):
            policy.check(url)


def test_a_local_origin_admits_only_its_own_port_on_loopback():
    local = UrlPolicy(schemes=frozenset({"http"}), allow_private=True,
                      origins=(Origin.parse("http://127.0.0.1:5060"),))
    local.check("http://127.0.0.1:5060/files/p1/out.png")
    for url in ("http://127.0.0.1:5050/bucket/key", "http://169.254.169.254/", "http://localhost:5060/"):
        with pytest.raises(UrlRejected):
            local.check(url)
