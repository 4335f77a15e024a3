-- Login and registration limits (fcgi-bin/users/throttle.c, docs/users-api.md
-- "Throttling"). `key` is the hex SHA-256 of the scope's subject: the client
-- address, the normalised email, or both ("email\naddress"), so no address or
-- email is stored in clear here. scope 1 = POST /sessions per address, 2 =
-- POST /users per address, 3 = both per account (requests in a 60 s window);
-- 4 = password tries per account and address, 5 = per address (a 15-minute
-- window; reaching the limit sets locked_until); 6 = an address the account
-- logged in from (window_start: the last success). tries only ever changes in
-- one conditional statement, never read into C and written back.
CREATE TABLE login_limits (
    scope        TINYINT UNSIGNED NOT NULL,
    `key`        CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    tries        INT UNSIGNED NOT NULL DEFAULT 0,
    window_start DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    locked_until DATETIME(3) NULL,
    PRIMARY KEY (scope, `key`),
    KEY ix_login_limits_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
