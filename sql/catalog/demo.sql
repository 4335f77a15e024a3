-- Demo catalog: a small category tree and @demo_products products (default
-- 10000), ids 1..N, SKUs ARC-000001.. Loaded by `arcade up` into an empty
-- catalog; loading it again with a larger @demo_products adds only the
-- products missing (rows that exist are left alone: `arcade bench` grows its
-- catalog this way). Written behind the catalog's API, so without events: the
-- search read model is rebuilt afterwards (`arcade reindex`). Run as the
-- catalog's own user:
--   SET @demo_products = 10000; SOURCE sql/catalog/demo.sql
SET time_zone = '+00:00';
SET @demo_products = COALESCE(@demo_products, 10000);

INSERT IGNORE INTO categories (id, slug, name, parent_id, path) VALUES
    (1, 'electronics', 'Electronics', NULL, '/1/'),
    (2, 'audio', 'Audio', 1, '/1/2/'),
    (3, 'computers', 'Computers', 1, '/1/3/'),
    (4, 'home', 'Home & Kitchen', NULL, '/4/'),
    (5, 'kitchen', 'Kitchen', 4, '/4/5/'),
    (6, 'books', 'Books', NULL, '/6/'),
    (7, 'outdoors', 'Outdoors', NULL, '/7/'),
    (8, 'toys', 'Toys & Games', NULL, '/8/');

-- Deterministic pseudo-random names and prices, spread over the leaf categories.
INSERT IGNORE INTO products (id, sku, name, description, price, currency, category_id,
                             on_hand, created_at, updated_at)
SELECT s.seq,
       CONCAT('ARC-', LPAD(s.seq, 6, '0')),
       CONCAT(ELT(1 + s.seq % 10, 'Classic', 'Compact', 'Deluxe', 'Eco', 'Pro', 'Smart',
                  'Travel', 'Ultra', 'Vintage', 'Wireless'), ' ',
              ELT(1 + (s.seq DIV 10) % 8, 'Headphones', 'Laptop', 'Kettle', 'Novel',
                  'Tent', 'Puzzle', 'Speaker', 'Blender'), ' ', s.seq),
       CONCAT('Demo product number ', s.seq, '. Sturdy, useful and reasonably priced.'),
       499 + (s.seq * 7919) % 99500,
       'EUR',
       ELT(1 + (s.seq DIV 10) % 8, 2, 3, 5, 6, 7, 8, 2, 5),
       (s.seq * 31) % 200,
       TIMESTAMP('2026-01-01') + INTERVAL s.seq MINUTE,
       TIMESTAMP('2026-01-01') + INTERVAL s.seq MINUTE
FROM seq_1_to_1000000 AS s
WHERE s.seq <= @demo_products;
