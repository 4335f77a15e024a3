-- The transactional outbox (docs/events.md): every order change writes its
-- event here in the same transaction; the relay (`arcade-orders relay`)
-- publishes rows in id order and deletes each one after the broker's ack.
CREATE TABLE outbox (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    event_id    CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    type        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    aggregate   VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    traceparent VARCHAR(55) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    body        MEDIUMTEXT NOT NULL,
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
