"""Text from browsers, as the shop's messages show it."""

from comeback.domain.shown_text import on_site, shown_name


def test_links_domains_and_addresses_are_taken_out_of_names():
    assert shown_name("Blue Mug") == "Blue Mug"
    bait = "Your order is on hold - confirm at https://evil.example/pay or www.evil.example"
    assert shown_name(bait) == "Your order is on hold - confirm at or"
    assert shown_name("write to help@evil.example now") == "write to now"
    assert shown_name("see evil.example/pay") == "see"
    assert shown_name("line\r\nbreak\tand  spaces") == "line break and spaces"
    assert shown_name("https://evil.example") is None and shown_name(None) is None
    assert len(shown_name("x" * 500)) == 80


def test_a_product_link_must_be_a_page_of_the_shops_site():
    site = "https://shop.example.com"
    assert on_site("https://shop.example.com/p/1", site) == "https://shop.example.com/p/1"
    assert on_site("https://SHOP.example.com/p/1", site) is not None
    assert on_site("https://shop.example.com.evil.example/p", site) is None
    assert on_site("javascript:alert(1)", site) is None
    assert on_site("https://shop.example.com/p", None) is None
