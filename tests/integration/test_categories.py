"""Categories API end to end (docs/catalog-api.md, "Categories")."""

import unittest

from arcadetest import (API, ArcadeTestCase, admin_headers, category_path, create_category,
                        get, is_int, post, resolve_location, unique_slug)

CATEGORIES = API + "/categories"


def find_node(nodes, slug, parent=None, path=()):
    """Depth-first search of the tree; returns (node, parent node, depth) or None."""
    for n in nodes:
        if n.get("slug") == slug:
            return n, parent, len(path)
        hit = find_node(n.get("children") or [], slug, n, path + (n.get("slug"),))
        if hit:
            return hit
    return None


class CategoryTreeTests(ArcadeTestCase):

    def assertTreeNode(self, node, parent_slug, depth=1):
        """A tree node (CategoryTreeNode): id, slug, name, parent (null at the top,
        else the parent's slug), children, recursively; at most 8 levels."""
        self.assertIsInstance(node, dict)
        self.assertEqual(set(node), {"id", "slug", "name", "parent", "children"},
                         "tree node keys of %r" % (node,))
        self.assertTrue(is_int(node["id"]) and node["id"] > 0)
        self.assertRegex(node["slug"], r"^[a-z0-9-]{1,64}$")
        self.assertIsInstance(node["name"], str)
        self.assertTrue(1 <= len(node["name"]) <= 100)
        self.assertEqual(node["parent"], parent_slug, "parent of %s" % node["slug"])
        self.assertLessEqual(depth, 8, "categories nest at most 8 levels deep")
        self.assertIsInstance(node["children"], list)
        for child in node["children"]:
            self.assertTreeNode(child, node["slug"], depth + 1)

    def test_tree_shape(self):
        r = get(CATEGORIES)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(set(r.json), {"items"})
        self.assertIsInstance(r.json["items"], list)
        slugs = []

        def walk(nodes):
            for n in nodes:
                slugs.append(n["slug"])
                walk(n["children"])
        for node in r.json["items"]:
            self.assertTreeNode(node, None)
        walk(r.json["items"])
        self.assertEqual(len(slugs), len(set(slugs)), "every category appears once")

    def test_created_tree_appears_nested(self):
        root = create_category(name="Root ☕")
        child = create_category(parent=root["slug"], name="child")
        grandchild = create_category(parent=child["slug"], name="Grandchild")
        sibling = create_category(parent=root["slug"], name="sibling")
        r = get(CATEGORIES)
        self.assertStatus(r, 200)
        items = r.json["items"]
        node, parent, depth = find_node(items, root["slug"])
        self.assertIsNone(parent, "a root is at the top")
        self.assertIsNone(node["parent"])
        self.assertEqual(node["id"], root["id"])
        self.assertEqual(node["name"], "Root ☕")
        self.assertEqual([c["slug"] for c in node["children"]], [child["slug"], sibling["slug"]])
        node, parent, depth = find_node(items, grandchild["slug"])
        self.assertEqual(parent["slug"], child["slug"])
        self.assertEqual(depth, 2)
        self.assertEqual(node["children"], [])
        self.assertEqual(node["name"], "Grandchild")
        self.assertEqual(node["parent"], child["slug"])

    def test_siblings_ordered_by_name_then_id(self):
        root = create_category()
        names = ["mike", "alpha", "zulu", "alpha", "kilo"]
        kids = [create_category(parent=root["slug"], name=n) for n in names]
        expected = [k["id"] for k in sorted(sorted(kids, key=lambda k: k["id"]),
                                            key=lambda k: k["name"])]
        node, _, _ = find_node(get(CATEGORIES).json["items"], root["slug"])
        self.assertEqual([c["id"] for c in node["children"]], expected)
        r = get(category_path(root["slug"]))
        self.assertEqual([c["id"] for c in r.json["children"]], expected)


class CreateCategoryTests(ArcadeTestCase):

    def assertCategory(self, c, slug, name, parent):
        self.assertIsInstance(c, dict)
        self.assertEqual(set(c), {"id", "slug", "name", "parent", "children"}, "keys of %r" % (c,))
        self.assertTrue(is_int(c["id"]) and c["id"] > 0)
        self.assertEqual((c["slug"], c["name"], c["parent"]), (slug, name, parent))

    def test_create_root_and_child(self):
        slug = unique_slug()
        r = post(CATEGORIES, {"slug": slug, "name": "Audio", "parent": None},
                 headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertJsonResponse(r)
        self.assertCategory(r.json, slug, "Audio", None)
        self.assertEqual(r.json["children"], [])
        loc = r.header("Location")
        self.assertIsNotNone(loc, "201 without Location")
        self.assertEqual(resolve_location(loc), category_path(slug))
        g = get(resolve_location(loc))
        self.assertStatus(g, 200)
        self.assertEqual(g.json, {"id": r.json["id"], "slug": slug, "name": "Audio",
                                  "parent": None, "children": []})

        child_slug = unique_slug()
        r = post(CATEGORIES, {"slug": child_slug, "name": "Headphones", "parent": slug},
                 headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertCategory(r.json, child_slug, "Headphones", slug)
        self.assertEqual(r.json["children"], [])
        g = get(category_path(slug))
        self.assertEqual(g.json["children"], [{"id": r.json["id"], "slug": child_slug,
                                               "name": "Headphones"}])
        g = get(category_path(child_slug))
        self.assertEqual(g.json, {"id": r.json["id"], "slug": child_slug, "name": "Headphones",
                                  "parent": slug, "children": []})

    def test_parent_absent_is_top_level(self):
        slug = unique_slug()
        r = post(CATEGORIES, {"slug": slug, "name": "No parent member"}, headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertIsNone(r.json["parent"])
        node, parent, _ = find_node(get(CATEGORIES).json["items"], slug)
        self.assertIsNone(parent)

    def test_at_most_8_levels(self):
        chain = [create_category()]
        for _ in range(7):
            chain.append(create_category(parent=chain[-1]["slug"]))
        self.assertEqual(get(category_path(chain[-1]["slug"])).json["parent"], chain[-2]["slug"])
        r = post(CATEGORIES, {"slug": unique_slug(), "name": "ninth", "parent": chain[-1]["slug"]},
                 headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "parent")
        node, _, depth = find_node(get(CATEGORIES).json["items"], chain[-1]["slug"])
        self.assertEqual(depth, 7)
        self.assertEqual(node["children"], [])

    def test_get_with_children(self):
        root = create_category()
        kids = [create_category(parent=root["slug"], name="Kid %d" % i) for i in range(3)]
        grandkid = create_category(parent=kids[0]["slug"])
        r = get(category_path(root["slug"]))
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(set(r.json), {"id", "slug", "name", "parent", "children"})
        self.assertEqual(r.json["id"], root["id"])
        self.assertIsNone(r.json["parent"])
        for c in r.json["children"]:
            self.assertEqual(set(c), {"id", "slug", "name"}, "child keys of %r" % (c,))
        self.assertEqual(sorted((c["id"], c["slug"], c["name"]) for c in r.json["children"]),
                         sorted((k["id"], k["slug"], k["name"]) for k in kids),
                         "direct children only")
        r = get(category_path(grandkid["slug"]))
        self.assertEqual(r.json["parent"], kids[0]["slug"])

    def test_duplicate_slug_is_409(self):
        root = create_category()
        for parent in (None, root["slug"]):
            with self.subTest(parent=parent):
                r = post(CATEGORIES, {"slug": root["slug"], "name": "Again", "parent": parent},
                         headers=admin_headers())
                self.assertError(r, 409, "conflict")
        self.assertEqual(get(category_path(root["slug"])).json["name"], root["name"])

    def test_unknown_parent_is_422(self):
        slug = unique_slug()
        r = post(CATEGORIES, {"slug": slug, "name": "Orphan", "parent": unique_slug("nope")},
                 headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "parent")
        self.assertError(get(category_path(slug)), 404, "not_found")

    def test_validation(self):
        cases = [
            ("slug", {"slug": ""}), ("slug", {"slug": "Upper"}), ("slug", {"slug": "has space"}),
            ("slug", {"slug": "under_score"}), ("slug", {"slug": "dot.s"}),
            ("slug", {"slug": "café"}), ("slug", {"slug": "a/b"}), ("slug", {"slug": "s" * 65}),
            ("slug", {"slug": 123}), ("slug", {"slug": None}),
            ("name", {"name": ""}), ("name", {"name": "n" * 101}), ("name", {"name": "é" * 101}),
            ("name", {"name": 5}), ("name", {"name": None}),
            ("parent", {"parent": 5}), ("parent", {"parent": "Bad Slug"}),
        ]
        for field, fields in cases:
            with self.subTest(field=field, value=repr(fields[field])[:30]):
                body = {"slug": unique_slug(), "name": "Valid", "parent": None}
                body.update(fields)
                r = post(CATEGORIES, body, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", field)
        for missing in ("slug", "name"):
            with self.subTest(missing=missing):
                body = {"slug": unique_slug(), "name": "Valid", "parent": None}
                del body[missing]
                r = post(CATEGORIES, body, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", missing)

    def test_boundaries_are_valid(self):
        for name, body in (
                ("64-char slug", {"slug": (unique_slug() + "-" + "z" * 64)[:64], "name": "x"}),
                ("100-char name", {"slug": unique_slug(), "name": "n" * 100}),
                ("100 multibyte characters", {"slug": unique_slug(), "name": "é" * 100}),
                ("unicode name", {"slug": unique_slug(), "name": "Café ☕ 日本 😀"})):
            with self.subTest(name):
                body["parent"] = None
                r = post(CATEGORIES, body, headers=admin_headers())
                self.assertStatus(r, 201)
                g = get(category_path(body["slug"]))
                self.assertStatus(g, 200)
                self.assertEqual(g.json["name"], body["name"])

    def test_body_errors(self):
        r = post(CATEGORIES, body='{"slug":', content_type="application/json",
                 headers=admin_headers())
        self.assertError(r, 400, "invalid_json")
        r = post(CATEGORIES, body="[]", content_type="application/json", headers=admin_headers())
        self.assertError(r, 400, "invalid_json")
        r = post(CATEGORIES, body='{"slug":"x","name":"y"}', content_type="text/plain",
                 headers=admin_headers())
        self.assertError(r, 415, "unsupported_media_type")

    def test_needs_admin(self):
        slug = unique_slug()
        r = post(CATEGORIES, {"slug": slug, "name": "x", "parent": None})
        self.assertError(r, 401, "unauthorized")
        self.assertError(get(category_path(slug)), 404, "not_found")


class GetCategoryTests(ArcadeTestCase):

    def test_unknown_is_404(self):
        self.assertError(get(category_path(unique_slug("nope"))), 404, "not_found")

    def test_malformed_slug_is_404(self):
        # (Bytes the web server itself refuses, such as %00, are the fuzz test's.)
        for slug in ("UPPER", "under_score", "dot.s", "x" * 65, "x" * 300, "%C3%A9"):
            with self.subTest(slug=slug[:20]):
                self.assertError(get(category_path(slug)), 404, "not_found")


if __name__ == "__main__":
    unittest.main()
