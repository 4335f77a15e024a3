-- Failed-login counters. scope 1 = account (key: the normalised email, known
-- or not), scope 2 = client address (key: REMOTE_ADDR). failures counts the
-- failures since window_start (a 15-minute window); reaching the scope's limit
-- sets locked_until. Updated only with one conditional upsert per failure.
CREATE TABLE login_throttle (
    scope        TINYINT UNSIGNED NOT NULL,
    `key`        VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    failures     INT UNSIGNED NOT NULL DEFAULT 0,
    window_start DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    locked_until DATETIME(3) NULL,
    PRIMARY KEY (scope, `key`),
    KEY ix_login_throttle_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
