-- The failed-login counters of 0004 were replaced by login_limits (0005),
-- which counts password tries before they are checked; nothing reads or
-- writes login_throttle any more.
DROP TABLE IF EXISTS login_throttle;
