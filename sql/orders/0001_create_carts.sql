-- Carts, one per user, server-side. carts holds the cart's row that every
-- write to it locks first (SELECT ... FOR UPDATE): concurrent PUTs to one cart
-- are serialised, so the line limit and the one-currency rule hold without a
-- read-then-write window. Its currency is the currency of its lines (NULL
-- before the first line; meaningless while the cart has none).
-- user_id is the users service's id: another schema, so no foreign key.
CREATE TABLE carts (
    user_id    BIGINT UNSIGNED NOT NULL,
    currency   CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The lines: product_id is the catalog's id; prices are never stored here,
-- a cart is priced from the catalog when it is read.
CREATE TABLE cart_items (
    user_id    BIGINT UNSIGNED NOT NULL,
    product_id BIGINT UNSIGNED NOT NULL,
    quantity   SMALLINT UNSIGNED NOT NULL,
    added_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (user_id, product_id),
    CONSTRAINT ck_cart_items_quantity CHECK (quantity BETWEEN 1 AND 99)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
