-- Ids of the events the consumer has handled (docs/events.md): the consumer
-- records an event's id in the same transaction as its effect, so that a
-- redelivered event is acknowledged without a second effect.
CREATE TABLE inbox (event_id CHAR(32) CHARACTER SET ascii PRIMARY KEY, handled_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), KEY (handled_at)) ENGINE=InnoDB;
