-- One row: the generation of the read model, moved by every change that
-- alters what a search can answer (in the change's own transaction). Answers
-- cached in memcached are keyed by (epoch, generation), so a cached answer is
-- never older than the last committed change; the epoch, drawn when the
-- schema is created, keeps a re-created schema from meeting old keys.
CREATE TABLE search_state (
    id         TINYINT UNSIGNED NOT NULL,
    epoch      BIGINT UNSIGNED NOT NULL,
    generation BIGINT UNSIGNED NOT NULL,
    changed_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT ck_search_state_one CHECK (id = 1)
) ENGINE=InnoDB;
INSERT INTO search_state (id, epoch, generation, changed_at)
VALUES (1, FLOOR(1 + RAND() * 9000000000000000), 1, UTC_TIMESTAMP(6));
