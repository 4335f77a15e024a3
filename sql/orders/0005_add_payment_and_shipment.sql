-- What payments and delivery add to an order (docs/orders-api.md):
-- payment_id and paid_at once payment.succeeded moved it to paid;
-- amount_refunded, the payments service's running total of refunds (minor
-- units; a partial refund leaves the status alone, a full one moves the order
-- to refunded); the shipment an admin recorded (carrier, tracking_number,
-- shipped_at) and when it was delivered.
ALTER TABLE orders
    ADD COLUMN payment_id      BIGINT UNSIGNED NULL AFTER expires_at,
    ADD COLUMN paid_at         DATETIME(3) NULL AFTER payment_id,
    ADD COLUMN amount_refunded BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER paid_at,
    ADD COLUMN carrier         VARCHAR(64) NULL AFTER amount_refunded,
    ADD COLUMN tracking_number VARCHAR(64) NULL AFTER carrier,
    ADD COLUMN shipped_at      DATETIME(3) NULL AFTER tracking_number,
    ADD COLUMN delivered_at    DATETIME(3) NULL AFTER shipped_at;
