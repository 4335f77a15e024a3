-- Facet counts kept up to date by every applied change, so that a search
-- without words (the home page, a category page, "in stock", a price band
-- picked from the facet) reads a few dozen counters instead of grouping every
-- product: one counter per scope ('' for the whole catalog, else a category
-- slug and so every product of that category and below), leaf category
-- ('' for none), price band and in_stock. Changed in the transaction of the
-- product change; `arcade reindex` recomputes the table.
CREATE TABLE facet_counts (
    scope         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    category_slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    category_name VARCHAR(100) NOT NULL,
    price_band    TINYINT NOT NULL,
    in_stock      TINYINT(1) NOT NULL,
    n             INT NOT NULL,
    PRIMARY KEY (scope, category_slug, category_name, price_band, in_stock)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The product's category path (slugs root -> leaf, joined by '/'), to know
-- which scopes it counted in before a change.
ALTER TABLE products
    ADD COLUMN category_path VARCHAR(1100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
        DEFAULT '' AFTER category_name;
UPDATE products p SET category_path = COALESCE((SELECT GROUP_CONCAT(c.slug ORDER BY c.slug
    SEPARATOR '/') FROM product_categories c WHERE c.product_id = p.id), '');

-- product_categories keeps whether the product is in stock (all that search
-- asks of stock), not the count, so that a stock change that leaves a product
-- in stock does not rewrite its rows.
ALTER TABLE product_categories ADD COLUMN in_stock TINYINT(1) NOT NULL DEFAULT 0 AFTER stock;
UPDATE product_categories SET in_stock = stock > 0;
ALTER TABLE product_categories
    DROP KEY ix_product_categories_facets,
    DROP COLUMN stock,
    ADD KEY ix_product_categories_facets (slug, category_slug, category_name, price_band,
                                          in_stock, price);

INSERT INTO facet_counts (scope, category_slug, category_name, price_band, in_stock, n)
SELECT '', COALESCE(category_slug, ''), COALESCE(category_name, ''), price_band, stock > 0,
       COUNT(*)
FROM products WHERE active = 1 GROUP BY 1, 2, 3, 4, 5;
INSERT INTO facet_counts (scope, category_slug, category_name, price_band, in_stock, n)
SELECT slug, category_slug, category_name, price_band, in_stock, COUNT(*)
FROM product_categories GROUP BY 1, 2, 3, 4, 5;
