-- `arcade bench`: grows the bench fleet's catalog to @bench_products products
-- (the search benchmark's 100,000), with the demo catalog's generator
-- (sql/catalog/demo.sql; keep the two alike): ids and SKUs that exist are left
-- alone. Run as the catalog's own user after the demo data. Written behind the
-- catalog's API, so no events: the script rebuilds the search read model
-- afterwards (`arcade reindex`). Prints how many rows it added.
SET time_zone = '+00:00';
INSERT IGNORE INTO products (id, sku, name, description, price, currency, category_id, on_hand,
                             created_at, updated_at)
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
WHERE s.seq <= @bench_products;
SELECT ROW_COUNT();
