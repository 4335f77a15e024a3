-- Orders (docs/orders-api.md). status moves only along the transitions of
-- the issue, each one a conditional UPDATE on the status it leaves (so a
-- second event or a racing request has no second effect), each one a row in
-- order_timeline. Prices, names and SKUs are the catalog's at checkout
-- (order_items): a later price change does not touch an order.
-- shipping_address is the address as the order answers it (a JSON object of
-- name, line1, line2, city, postal_code, country, phone), a snapshot.
-- user_id is the users service's id: another schema, so no foreign key.
CREATE TABLE orders (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id          BIGINT UNSIGNED NOT NULL,
    status           VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    currency         CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    total            BIGINT UNSIGNED NOT NULL,
    shipping_address TEXT NOT NULL,
    reason           VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    rejected_lines   TEXT CHARACTER SET ascii COLLATE ascii_bin NULL,
    created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    expires_at       DATETIME(3) NULL,
    PRIMARY KEY (id),
    KEY ix_orders_user (user_id, id),
    KEY ix_orders_status (status, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_items (
    order_id   BIGINT UNSIGNED NOT NULL,
    line_no    SMALLINT UNSIGNED NOT NULL,
    product_id BIGINT UNSIGNED NOT NULL,
    sku        VARCHAR(64) NOT NULL,
    name       VARCHAR(200) NOT NULL,
    unit_price BIGINT UNSIGNED NOT NULL,
    quantity   SMALLINT UNSIGNED NOT NULL,
    line_total BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every status an order has had: actor customer, admin or system.
CREATE TABLE order_timeline (
    id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id BIGINT UNSIGNED NOT NULL,
    status   VARCHAR(20) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    actor    VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    reason   VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY ix_order_timeline_order (order_id, id),
    CONSTRAINT fk_order_timeline_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency keys of POST /orders, per user (Stripe's semantics). A row is
-- first a claim (state 'claimed', claim_token: the worker doing the checkout),
-- inserted in its own short transaction; the checkout's transaction turns it
-- into 'done' with the answer, together with the order, only while the claim
-- is still its own. A claim older than the takeover age belongs to a worker
-- that died: another request may take it over (a new token). request_hash is
-- a hash of the body: the same key with another body is refused. Rows live at
-- least 24 hours (purged after that).
CREATE TABLE idempotency_keys (
    user_id      BIGINT UNSIGNED NOT NULL,
    idem_key     VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    state        VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'claimed',
    claim_token  CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    claimed_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    status       SMALLINT UNSIGNED NULL,
    order_id     BIGINT UNSIGNED NULL,
    body         MEDIUMTEXT NULL,
    created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (user_id, idem_key),
    KEY ix_idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
