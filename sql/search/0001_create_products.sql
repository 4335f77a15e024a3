-- The search read model: one row per catalog product, a copy of the document
-- the catalog's events carry (docs/events.md), fed only by those events and by
-- `arcade reindex`. Never written by the API; never read from the catalog.
--
-- version is the catalog's product version: an event applies only when it is
-- newer than the row. synced_at is when the row was last confirmed by an event
-- or by reindex; reindex deletes the rows it did not confirm.
--
-- price_band is the band of the price facet (docs/search-api.md), computed by
-- the server: [0,1000) [1000,2500) [2500,5000) [5000,10000) [10000,25000)
-- [25000,50000) [50000,∞) in minor units -> 0..6 (fcgi-bin/search/query.c
-- holds the same bounds).
--
-- Indexes: each sort without words is an index walk that stops at the page
-- (newest, price); ix_products_facets covers the facet GROUP BY (no row is
-- read); the full-text indexes serve q: ft_products_text finds the matches
-- (every word required), ft_products_name ranks name matches first.
CREATE TABLE products (
    id            BIGINT UNSIGNED NOT NULL,
    sku           VARCHAR(64) NOT NULL, -- utf8mb4 like name: one full-text index holds both
    name          VARCHAR(200) NOT NULL,
    description   TEXT NOT NULL,
    price         BIGINT NOT NULL,
    currency      CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    category_id   BIGINT UNSIGNED NULL,
    category_slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    category_name VARCHAR(100) NULL,
    stock         INT NOT NULL,
    active        TINYINT(1) NOT NULL,
    version       BIGINT UNSIGNED NOT NULL,
    created_at    DATETIME(3) NOT NULL,
    updated_at    DATETIME(3) NOT NULL,
    synced_at     DATETIME(6) NOT NULL,
    price_band    TINYINT AS (INTERVAL(price, 1000, 2500, 5000, 10000, 25000, 50000)) STORED,
    PRIMARY KEY (id),
    KEY ix_products_newest (active, created_at, id),
    KEY ix_products_price (active, price, id),
    KEY ix_products_facets (active, category_slug, category_name, price_band, stock, price),
    KEY ix_products_synced (synced_at),
    FULLTEXT KEY ft_products_name (name),
    FULLTEXT KEY ft_products_text (name, description, sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every category an active product is in: its own (the leaf) and each
-- ancestor (slug), so that "category=electronics" finds the products of
-- electronics/audio too. Each row repeats what filtering, sorting and facets
-- need, so that a search within a category reads only this table's indexes
-- (the products table gives the page's 20 rows). Replaced on every applied
-- change of the product; inactive products have none.
CREATE TABLE product_categories (
    slug          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    product_id    BIGINT UNSIGNED NOT NULL,
    price         BIGINT NOT NULL,
    stock         INT NOT NULL,
    created_at    DATETIME(3) NOT NULL,
    category_slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    category_name VARCHAR(100) NOT NULL,
    price_band    TINYINT AS (INTERVAL(price, 1000, 2500, 5000, 10000, 25000, 50000)) STORED,
    PRIMARY KEY (slug, product_id),
    KEY ix_product_categories_product (product_id),
    KEY ix_product_categories_newest (slug, created_at, product_id),
    KEY ix_product_categories_price (slug, price, product_id),
    KEY ix_product_categories_facets (slug, category_slug, category_name, price_band, stock, price)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
