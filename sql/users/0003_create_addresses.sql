-- Postal addresses of an account (at most 20 per user, enforced by the service).
CREATE TABLE addresses (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id     BIGINT UNSIGNED NOT NULL,
    name        VARCHAR(100) NOT NULL,
    line1       VARCHAR(200) NOT NULL,
    line2       VARCHAR(200) NOT NULL DEFAULT '',
    city        VARCHAR(100) NOT NULL,
    postal_code VARCHAR(20) NOT NULL,
    country     CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    phone       VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY ix_addresses_user (user_id, id),
    CONSTRAINT fk_addresses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
