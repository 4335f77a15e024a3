"""The shop's one rule for text fields (README "Text fields", docs/catalog-api.md,
docs/users-api.md), as every service applies it through the shared JSON field reader:
single-line text refuses control characters, line breaks, bidi controls and blank
values; a description also takes LF, TAB and CRLF; a password refuses only control
characters. Each refusal is 422 validation_failed naming the field."""

import json

from arcadetest import (API, UsersTestCase, admin_headers, bearer, new_customer, patch, post,
                        product_body, unique_email, unique_password)

PRODUCTS = API + "/products"
USERS = API + "/users"

SINGLE_LINE_REFUSED = [
    ("NUL", "a\u0000b"), ("TAB", "a\tb"), ("LF", "a\nb"), ("CR", "a\rb"), ("CRLF", "a\r\nb"),
    ("ESC", "a\u001bb"), ("DEL", "a\u007fb"), ("C1 NEL", "a\u0085b"), ("C1 CSI", "a\u009bb"),
    ("U+2028", "a\u2028b"), ("U+2029", "a\u2029b"), ("RLO U+202E", "abc\u202edef"),
    ("LRE U+202A", "a\u202ab"), ("RLI U+2067", "a\u2067b"), ("PDI U+2069", "a\u2069b"),
    ("LRM U+200E", "a\u200eb"), ("RLM U+200F", "a\u200fb"), ("ALM U+061C", "a\u061cb"),
    ("spaces", "   "), ("zero-width space", "\u200b"), ("NBSP and ZWJ", "\u00a0\u200d"),
    ("BOM", "\ufeff"), ("word joiner and ideographic space", "\u2060\u3000"),
]
SINGLE_LINE_ACCEPTED = ["Ada Lovelace", "  padded  ", "日本 😀", "Zoë", "a\u200db", "عربي"]


class ProductTextTests(UsersTestCase):

    def create(self, **fields):
        return post(PRODUCTS, product_body(**fields), headers=admin_headers())

    def test_nul_in_a_name_is_422_naming_name(self):
        r = self.create(name="a\u0000b")
        self.assertError(r, 422, "validation_failed", "name")

    def test_single_line_fields_refuse_controls_bidi_and_blanks(self):
        for what, value in SINGLE_LINE_REFUSED:
            with self.subTest(what):
                self.assertError(self.create(name=value), 422, "validation_failed", "name")
        for value in SINGLE_LINE_ACCEPTED:
            with self.subTest(value=value):
                r = self.create(name=value)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["name"], value, "stored and shown whole")

    def test_description_is_multi_line(self):
        for value in ("line one\nline two", "tab\tseparated", "windows\r\nline", ""):
            with self.subTest(value=value):
                r = self.create(description=value)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["description"], value)
        for value in ("a\u0000b", "lone\rcr", "a\u2028b", "a\u202eb", "bell\u0007", " \n\t"):
            with self.subTest(value=value):
                r = self.create(description=value)
                self.assertError(r, 422, "validation_failed", "description")

    def test_patch_and_categories_follow_the_rule(self):
        r = self.create()
        self.assertStatus(r, 201)
        r = patch("%s/%d" % (PRODUCTS, r.json["id"]), {"name": "x\u202ey"},
                  headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "name")
        r = post(API + "/categories", {"slug": "tf-nope", "name": "\u200b"},
                 headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "name")

    def test_escaped_nul_in_raw_json(self):
        raw = json.dumps(product_body(name="PLACEHOLDER")).replace("PLACEHOLDER", "a\\u0000b")
        r = post(PRODUCTS, body=raw.encode(), content_type="application/json",
                 headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "name")


class UserTextTests(UsersTestCase):

    def register(self, **fields):
        body = {"email": unique_email(), "password": unique_password(), "name": "N"}
        body.update(fields)
        return post(USERS, body)

    def test_bidi_override_in_a_user_name_is_422(self):
        r = self.register(name="evil\u202egnp.exe")
        self.assertError(r, 422, "validation_failed", "name")

    def test_user_names_follow_the_single_line_rule(self):
        for what, value in SINGLE_LINE_REFUSED:
            with self.subTest(what):
                self.assertError(self.register(name=value), 422, "validation_failed", "name")
        for value in SINGLE_LINE_ACCEPTED:
            with self.subTest(value=value):
                r = self.register(name=value)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["name"], value)

    def test_passwords_refuse_only_control_characters(self):
        for value in ("long-enough\u0000pw", "long-enough\npw", "long-enough\tpw",
                      "long-enough\u0085pw"):
            with self.subTest(value=value):
                self.assertError(self.register(password=value), 422, "validation_failed",
                                 "password")
        for value in ("long enough  spaces", "long-enough\u202epw", "     long-enough"):
            with self.subTest(value=value):
                self.assertStatus(self.register(password=value), 201)

    def test_me_and_addresses_follow_the_rule(self):
        c = new_customer()
        r = patch(USERS + "/me", {"name": "a\u0000b"}, headers=bearer(c.token))
        self.assertError(r, 422, "validation_failed", "name")
        body = {"name": "Ada", "line1": "Street 1\n2", "city": "Berlin",
                "postal_code": "10115", "country": "DE"}
        r = post(USERS + "/me/addresses", body, headers=bearer(c.token))
        self.assertError(r, 422, "validation_failed", "line1")


if __name__ == "__main__":
    import unittest
    unittest.main()
