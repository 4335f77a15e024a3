-- The catalog's side of the stock saga (docs/events.md, "Order and stock
-- events"): what the catalog did for each order it heard of, by order id.
-- order_stock.state is the one guard of every transition: an order's row is
-- locked before anything of it changes, by an upsert (a record lock, never a
-- gap lock, so consumers handling neighbouring new orders do not deadlock):
--   new       the row the upsert just created; every transaction either moves
--             it on or rolls back, so no committed row stays new
--   held      order.created reserved every line (reservations: held)
--   rejected  order.created found a line short; nothing was reserved
--   sold      order.paid turned the held units into sold ones
--   released  order.cancelled released the held units
--   returned  order.cancelled after order.paid put the sold units back
--   cancelled a tombstone: order.cancelled came before order.created; a later
--             order.created reserves nothing and answers nothing
CREATE TABLE order_stock (
    order_id    BIGINT UNSIGNED NOT NULL,
    state       ENUM('new','held','rejected','sold','released','returned','cancelled') NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (order_id)
) ENGINE=InnoDB;

-- One row per product of a held (or once held) order: the units the order
-- holds, sold or gave back. products.reserved = the sum of the held rows.
CREATE TABLE reservations (
    order_id    BIGINT UNSIGNED NOT NULL,
    product_id  BIGINT UNSIGNED NOT NULL,
    quantity    INT NOT NULL,
    state       ENUM('held','sold','released','returned') NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (order_id, product_id),
    KEY ix_reservations_product (product_id, state),
    CONSTRAINT fk_reservations_order FOREIGN KEY (order_id) REFERENCES order_stock (order_id),
    CONSTRAINT ck_reservations_quantity CHECK (quantity > 0)
) ENGINE=InnoDB;
